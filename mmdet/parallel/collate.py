"""2.x's collate: batches samples whose fields may be :class:`DataContainer` s."""
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data.dataloader import default_collate

from .data_container import DataContainer


def _stack_padded(samples):
    """Pad the last ``pad_dims`` dimensions of the samples' tensors to the largest, then stack."""
    first = samples[0]
    if not isinstance(first.data, torch.Tensor):
        raise TypeError(f'a stacked DataContainer must hold a tensor, got {type(first.data).__name__}')
    pad_dims = first.pad_dims
    if pad_dims is None:
        return default_collate([s.data for s in samples])
    ndim = first.dim()
    if ndim <= pad_dims:
        raise ValueError(f'cannot pad {pad_dims} dims of a {ndim}-d tensor')
    for s in samples:
        if s.size()[:ndim - pad_dims] != first.size()[:ndim - pad_dims]:
            raise ValueError(f'samples differ outside the padded dims: {tuple(s.size())} vs {tuple(first.size())}')
    max_shape = [max(s.size(-d) for s in samples) for d in range(1, pad_dims + 1)]
    padded = []
    for s in samples:
        pad = [0] * (2 * pad_dims)
        for d in range(1, pad_dims + 1):
            pad[2 * d - 1] = max_shape[d - 1] - s.size(-d)
        padded.append(F.pad(s.data, pad, value=s.padding_value))
    return default_collate(padded)


def collate(batch, samples_per_gpu=1):
    """Collate ``batch`` (a list of samples) as mmcv 1.x did.

    A :class:`DataContainer` field becomes one DataContainer whose ``data`` is a
    list with one entry per ``samples_per_gpu`` chunk: for ``cpu_only`` and
    non-stacked fields a list of the samples' values, for stacked ones a tensor
    (padded per chunk).  Sequences and mappings are collated element-wise and
    key-wise; anything else goes to torch's ``default_collate``.
    """
    if not isinstance(batch, Sequence):
        raise TypeError(f'collate takes a sequence of samples, got {type(batch).__name__}')
    first = batch[0]
    if isinstance(first, DataContainer):
        chunks = [batch[i:i + samples_per_gpu] for i in range(0, len(batch), samples_per_gpu)]
        if first.cpu_only:
            return DataContainer([[s.data for s in c] for c in chunks], first.stack, first.padding_value,
                                 cpu_only=True)
        if first.stack:
            return DataContainer([_stack_padded(c) for c in chunks], first.stack, first.padding_value)
        return DataContainer([[s.data for s in c] for c in chunks], first.stack, first.padding_value)
    if isinstance(first, Sequence) and not isinstance(first, str):
        return [collate(samples, samples_per_gpu) for samples in zip(*batch)]
    if isinstance(first, Mapping):
        return {key: collate([d[key] for d in batch], samples_per_gpu) for key in first}
    if isinstance(first, torch.Tensor) and first.dim() >= 2 and len({t.shape for t in batch}) > 1:
        # plain image tensors of different sizes (a test pipeline's ImageToTensor with several images per
        # batch), where mmcv's default_collate fails: padded bottom/right with zeros as a stacked container is
        return _pad_plain(batch)
    return default_collate(batch)


def _pad_plain(tensors):
    if len({t.shape[:-2] for t in tensors}) > 1:
        raise ValueError(f'cannot batch tensors of shapes {[tuple(t.shape) for t in tensors]}: they differ '
                         'outside the last two dimensions')
    h, w = max(t.shape[-2] for t in tensors), max(t.shape[-1] for t in tensors)
    return torch.stack([F.pad(t, (0, w - t.shape[-1], 0, h - t.shape[-2])) for t in tensors])
