import copy
import random
from functools import partial

import numpy as np
import torch
from torch.utils.data import DataLoader

from mmdet.utils import Registry, build_from_cfg, get_dist_info

from .pipelines.compose import PIPELINES  # noqa: F401  (2.x import path: mmdet.datasets.builder.PIPELINES)

DATASETS = Registry('dataset')


def build_dataset(cfg, default_args=None):
    from .dataset_wrappers import ConcatDataset, RepeatDataset
    if isinstance(cfg, (list, tuple)):
        return ConcatDataset([build_dataset(c, default_args) for c in cfg])
    if cfg.get('type') == 'ConcatDataset':
        return ConcatDataset([build_dataset(c, default_args) for c in cfg['datasets']],
                             cfg.get('separate_eval', True))
    if cfg.get('type') == 'RepeatDataset':
        return RepeatDataset(build_dataset(cfg['dataset'], default_args), cfg['times'])
    if isinstance(cfg.get('ann_file'), (list, tuple)):
        parts = []
        for i, ann in enumerate(cfg['ann_file']):
            c = copy.deepcopy(dict(cfg))
            c['ann_file'] = ann
            for key in ('img_prefix', 'seg_prefix', 'proposal_file'):
                if isinstance(c.get(key), (list, tuple)):
                    c[key] = c[key][i]
            parts.append(build_dataset(c, default_args))
        return ConcatDataset(parts, cfg.get('separate_eval', True))
    return build_from_cfg(cfg, DATASETS, default_args)


def _pad_stack(tensors, pad_value=0):
    """Stack (C, H, W) tensors, padding bottom/right to the largest H and W."""
    if len({t.shape for t in tensors}) == 1:
        return torch.stack(tensors)
    h = max(t.shape[-2] for t in tensors)
    w = max(t.shape[-1] for t in tensors)
    out = tensors[0].new_full((len(tensors), tensors[0].shape[0], h, w), pad_value)
    for i, t in enumerate(tensors):
        out[i, :, :t.shape[-2], :t.shape[-1]] = t
    return out


def collate(batch):
    """Batch pipeline outputs: images padded and stacked; metas and gt as lists.

    Test-time views (lists per sample) become lists over views of batches.
    """
    out = {}
    for key in batch[0]:
        values = [b[key] for b in batch]
        if key == 'img':
            if isinstance(values[0], list):
                out[key] = [_pad_stack([v[i] for v in values]) for i in range(len(values[0]))]
            else:
                out[key] = _pad_stack(values)
        elif key == 'img_metas' and isinstance(values[0], list):
            out[key] = [[v[i] for v in values] for i in range(len(values[0]))]
        else:
            out[key] = values
    return out


def worker_init_fn(worker_id, num_workers, rank, seed):
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2**32)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=True, shuffle=True, seed=None,
                     **kwargs):
    """A DataLoader with aspect-ratio grouping when shuffling (per process when ``dist``)."""
    from .samplers import DistributedGroupSampler, DistributedSampler, GroupSampler
    rank, world_size = get_dist_info()
    if dist:
        if shuffle:
            sampler = DistributedGroupSampler(dataset, samples_per_gpu, world_size, rank, seed=seed)
        else:
            sampler = DistributedSampler(dataset, world_size, rank, shuffle=False, seed=seed)
        batch_size, num_workers = samples_per_gpu, workers_per_gpu
    else:
        sampler = GroupSampler(dataset, samples_per_gpu, seed=seed) if shuffle else None
        batch_size, num_workers = num_gpus * samples_per_gpu, num_gpus * workers_per_gpu
    init_fn = partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed) if seed is not None else None
    kwargs.setdefault('persistent_workers', num_workers > 0)
    kwargs.setdefault('pin_memory', torch.cuda.is_available())  # page-locked batches copy to the GPU asynchronously
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers, collate_fn=collate,
                      worker_init_fn=init_fn, **kwargs)
