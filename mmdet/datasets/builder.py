import copy
import random
from functools import partial

import numpy as np
import torch
from torch.utils.data import DataLoader

from mmdet.parallel import collate
from mmdet.utils import Registry, build_from_cfg, get_dist_info

from .pipelines.compose import PIPELINES  # noqa: F401  (2.x import path: mmdet.datasets.builder.PIPELINES)

DATASETS = Registry('dataset')


def _wrapped_key(cfg):
    """The config key holding the inner dataset config(s) of a wrapper type, or None.

    A wrapper class (``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset``) declares it
    as ``WRAPS = 'datasets'`` (a list) or ``WRAPS = 'dataset'`` (one); the wrappers register
    themselves in :data:`DATASETS`, so this module never imports them.
    """
    obj_type = cfg.get('type')
    cls = DATASETS.get(obj_type) if isinstance(obj_type, str) else obj_type
    return getattr(cls, 'WRAPS', None)


def _concat_cls():
    cls = DATASETS.get('ConcatDataset')
    if cls is None:  # only if mmdet.datasets.dataset_wrappers was never imported
        raise KeyError("'ConcatDataset' is not registered in DATASETS: import mmdet.datasets")
    return cls


def build_dataset(cfg, default_args=None):
    """Build a dataset from a config (2.x semantics).

    * a list/tuple of configs -> ``ConcatDataset`` of them;
    * a wrapper type (``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset``, any class
      with a ``WRAPS`` attribute) -> its inner config(s) are built first (with ``default_args``)
      and the wrapper gets the built datasets (``default_args`` are not given to the wrapper);
    * ``ann_file`` a list -> one dataset per file (``img_prefix``, ``seg_prefix``,
      ``proposal_file`` lists are split alongside), concatenated;
    * an already-built dataset (not a dict) is returned as it is.
    """
    if isinstance(cfg, (list, tuple)):
        return _concat_cls()([build_dataset(c, default_args) for c in cfg])
    if not isinstance(cfg, dict):
        return cfg  # already a dataset object
    key = _wrapped_key(cfg)
    if key is not None:
        if key not in cfg:
            raise KeyError(f"{cfg.get('type')} config needs '{key}': {dict(cfg)!r}")
        args = dict(cfg)
        inner = args[key]
        if key == 'datasets':
            if not isinstance(inner, (list, tuple)):
                raise TypeError(f"{cfg.get('type')}: 'datasets' must be a list of configs, "
                                f'got {type(inner).__name__}')
            args[key] = [build_dataset(c, default_args) for c in inner]
        else:
            args[key] = build_dataset(inner, default_args)
        return build_from_cfg(args, DATASETS)
    if isinstance(cfg.get('ann_file'), (list, tuple)):
        parts = []
        for i, ann in enumerate(cfg['ann_file']):
            c = copy.deepcopy(dict(cfg))
            c['ann_file'] = ann
            for k in ('img_prefix', 'seg_prefix', 'proposal_file'):
                if isinstance(c.get(k), (list, tuple)):
                    c[k] = c[k][i]
            c.pop('separate_eval', None)
            parts.append(build_dataset(c, default_args))
        return _concat_cls()(parts, cfg.get('separate_eval', True))
    return build_from_cfg(cfg, DATASETS, default_args)


_SAMPLING_WRAPPERS = ('ConcatDataset', 'RepeatDataset', 'ClassBalancedDataset')


def val_workflow_cfg(train_cfg, val_cfg):
    """The dataset config of the ``('val', 1)`` workflow step: ``val_cfg``'s images through the training
    recipe, for losses.

    2.x's ``tools/train.py`` gives ``data.val`` the pipeline ``data.train.pipeline``, which a wrapped
    training set does not have.  Here the training config is walked down to the dataset that holds the
    pipeline: wrappers that only choose samples (``ConcatDataset`` - its first part -, ``RepeatDataset``,
    ``ClassBalancedDataset``) are left out, as a val loss weighs every val image once; wrappers that
    transform (``MultiImageMixDataset``, ``ObjectCropDataset``) are kept around the val set, so Mosaic,
    MixUp or the crop see val images.

    Args:
        train_cfg (dict | list): ``data.train``; a list is a concatenation (its first part is used).
        val_cfg (dict): ``data.val``, a plain dataset config.
    Returns:
        dict: a new config; the inputs are not changed.
    """
    if isinstance(train_cfg, (list, tuple)):
        return val_workflow_cfg(train_cfg[0], val_cfg)
    key = _wrapped_key(train_cfg)
    if key is None:
        if 'pipeline' not in train_cfg:
            raise KeyError(f"data.train ({train_cfg.get('type')}) has no 'pipeline' for the val workflow step")
        out = copy.deepcopy(val_cfg)
        out['pipeline'] = copy.deepcopy(train_cfg['pipeline'])
        return out
    inner = train_cfg[key][0] if key == 'datasets' else train_cfg[key]
    if train_cfg.get('type') in _SAMPLING_WRAPPERS:
        return val_workflow_cfg(inner, val_cfg)
    out = copy.deepcopy(train_cfg)
    out[key] = [val_workflow_cfg(inner, val_cfg)] if key == 'datasets' else val_workflow_cfg(inner, val_cfg)
    return out


def worker_init_fn(worker_id, num_workers, rank, seed):
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2**32)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=True, shuffle=True, seed=None,
                     **kwargs):
    """A DataLoader with aspect-ratio grouping when shuffling (per process when ``dist``).

    Batches are 2.x's: :func:`mmdet.parallel.collate` of the pipeline outputs with one chunk per batch
    (one process drives one device), e.g. ``img`` a stacked DataContainer, ``img_metas`` a cpu_only one."""
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
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers, collate_fn=partial(collate, samples_per_gpu=batch_size),
                      worker_init_fn=init_fn, **kwargs)
