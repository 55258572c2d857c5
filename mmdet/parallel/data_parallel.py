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

from .data_container import DataContainer


def scatter(obj, device):
    """``obj`` with DataContainers replaced by their first chunk and tensors moved to ``device``."""
    if isinstance(obj, DataContainer):
        value = obj.data[0]
        return value if obj.cpu_only else scatter(value, device)
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, (list, tuple)):
        return type(obj)(scatter(v, device) for v in obj)
    if isinstance(obj, dict):
        return {k: scatter(v, device) for k, v in obj.items()}
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
