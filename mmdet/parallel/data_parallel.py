"""MMDataParallel: a 2.x-style model wrapper that unpacks :class:`DataContainer` batches.

2.x test and training code wraps the detector (``MMDataParallel(model,
device_ids=[0])``) and calls ``model(return_loss=False, rescale=True, **data)``
or ``model.train_step(data, optimizer)`` with batches from :func:`collate`.  The
wrapper takes the first chunk of every DataContainer (one process drives one
device here; more devices are ``torchrun`` processes), moves tensors to the
device (not ``cpu_only`` ones) and calls the module.
"""
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from .data_container import DataContainer


def _single_chunk(dc):
    chunks = dc.data
    if not isinstance(chunks, list) or len(chunks) != 1:
        n = len(chunks) if isinstance(chunks, list) else 'not a list of'
        raise ValueError(f'a collated DataContainer holds one chunk per device; this one holds {n} chunks. '
                         'One process drives one device here: collate with samples_per_gpu equal to the batch '
                         'size (build_dataloader does), or launch one process per device with torchrun')
    return chunks[0]


def scatter(obj, device):
    """``obj`` with each collated DataContainer replaced by its chunk (there must be exactly one: one
    process drives one device) and tensors moved to ``device`` (not those of ``cpu_only`` containers).
    Already-scattered data passes through unchanged, so scattering twice is harmless."""
    if isinstance(obj, DataContainer):
        value = _single_chunk(obj)
        return value if obj.cpu_only else scatter(value, device)
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, (list, tuple)):
        return type(obj)(scatter(v, device) for v in obj)
    if isinstance(obj, dict):
        return {k: scatter(v, device) for k, v in obj.items()}
    return obj


def unwrap(obj):
    """``obj`` with every DataContainer replaced by what it holds, recursively, nothing moved: one
    pipeline output (``dataset[i]``) in the plain form the model's ``simple_test`` takes."""
    if isinstance(obj, DataContainer):
        return unwrap(obj.data)
    if isinstance(obj, (list, tuple)):
        return type(obj)(unwrap(v) for v in obj)
    if isinstance(obj, dict):
        return {k: unwrap(v) for k, v in obj.items()}
    return obj


def scatter_kwargs(inputs, kwargs, device):
    """(inputs, kwargs) scattered to ``device``, as one-element tuples (mmcv's shape)."""
    return (scatter(tuple(inputs), device),), (scatter(dict(kwargs), device),)


def _device(device_ids):
    if device_ids and torch.cuda.is_available():
        return torch.device('cuda', int(device_ids[0]))
    return torch.device('cpu')


class MMDataParallel(nn.Module):
    """Wrap ``module`` for one device (``device_ids[0]``; the CPU when CUDA is absent).

    Args:
        module (nn.Module): the detector.
        device_ids (list[int] | None): the device to use (only one is supported).
        dim (int): accepted for the 2.x signature; must be 0.
    """

    def __init__(self, module, device_ids=None, dim=0, **kwargs):
        super().__init__()
        if dim != 0:
            raise ValueError('MMDataParallel: only dim=0 is supported')
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError('MMDataParallel drives one device; launch one process per device with torchrun')
        self.module = module
        self.device = _device(device_ids)
        self.module.to(self.device)

    def forward(self, *inputs, **kwargs):
        (inputs,), (kwargs,) = scatter_kwargs(inputs, kwargs, self.device)
        return self.module(*inputs, **kwargs)

    def train_step(self, *inputs, **kwargs):
        (inputs,), (kwargs,) = scatter_kwargs(inputs, kwargs, self.device)
        return self.module.train_step(*inputs, **kwargs)

    def val_step(self, *inputs, **kwargs):
        (inputs,), (kwargs,) = scatter_kwargs(inputs, kwargs, self.device)
        return self.module.val_step(*inputs, **kwargs)


class MMDistributedDataParallel(DistributedDataParallel):
    """``DistributedDataParallel`` with 2.x's ``train_step`` / ``val_step``.

    The 2.x runner calls ``model.train_step(data, optimizer)``; the detector's
    ``train_step`` calls ``self(**data)``.  Calling ``self.module.train_step``
    directly would bypass DDP's forward, which prepares the gradient all-reduce, so
    here the step is run *through* DDP's forward: for that one call the wrapped
    module's ``forward`` is the requested step method (the step's own ``self(**data)``
    then reaches the module's real ``forward``).  Gradients are synchronised exactly
    as for ``ddp(**data)``, including ``find_unused_parameters``.  Batches are
    scattered (DataContainers unpacked, tensors moved to this rank's device) first.
    """

    def _device(self):
        return torch.device('cuda', self.device_ids[0]) if self.device_ids else next(self.module.parameters()).device

    def _through_forward(self, method, *inputs, **kwargs):
        module = self.module
        step = getattr(module, method)

        def run_step(*a, **k):
            del module.forward  # the step's own self(**data) must reach the real forward
            return step(*a, **k)

        (inputs,), (kwargs,) = scatter_kwargs(inputs, kwargs, self._device())
        module.forward = run_step
        try:
            return self(*inputs, **kwargs)
        finally:
            module.__dict__.pop('forward', None)

    def train_step(self, *inputs, **kwargs):
        return self._through_forward('train_step', *inputs, **kwargs)

    def val_step(self, *inputs, **kwargs):
        return self._through_forward('val_step', *inputs, **kwargs)
