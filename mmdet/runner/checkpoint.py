"""Saving and loading checkpoints (ours and original 2.x ones).

Pretrained names resolve without the network:
``torchvision://resnet50`` and ``open-mmlab://resnext101_32x4d`` look for
``<name>-*.pth`` / ``<name>.pth`` in the torch hub cache
(``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/hub/checkpoints``).
"""
import glob
import os
import os.path as osp
import random
import time
from collections import OrderedDict

import numpy as np
import torch

import mmdet

# open-mmlab names whose files are stored under a different stem
_OPENMMLAB_ALIASES = {
    'res2net101_v1d_26w_4s': 'res2net101_v1d_26w_4s_mmdetv2',
    'resnext101_32x4d': 'resnext101_32x4d',
    'resnext101_64x4d': 'resnext101_64x4d',
}


def hub_checkpoint_dir():
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def resolve_pretrained(name):
    """Turn a ``pretrained`` value into a local file path, or raise naming where to put it."""
    if name.startswith(('torchvision://', 'open-mmlab://', 'modelzoo://')):
        scheme, stem = name.split('://', 1)
        stems = [stem, _OPENMMLAB_ALIASES.get(stem, stem)]
        d = hub_checkpoint_dir()
        for s in stems:
            hits = sorted(glob.glob(osp.join(d, f'{s}-*.pth'))) + sorted(glob.glob(osp.join(d, f'{s}.pth')))
            if hits:
                return hits[0]
        raise FileNotFoundError(
            f"pretrained weights '{name}' are not in the local torch hub cache and this toolbox does not "
            f"download them: put the file as {osp.join(d, stems[-1] + '-<hash>.pth')} (e.g. copy it from a "
            f"machine with internet access), give a local path, or set pretrained=None")
    if name.startswith(('http://', 'https://')):
        fname = osp.basename(name)
        path = osp.join(hub_checkpoint_dir(), fname)
        if osp.isfile(path):
            return path
        raise FileNotFoundError(f"checkpoint URL '{name}' is not cached locally: put the file at {path} "
                                f'or give a local path')
    path = osp.expanduser(name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    return path


def _torch_load(path, map_location):
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as first:  # original 2.x checkpoints may pickle numpy / mmcv objects in meta
        try:
            return torch.load(path, map_location=map_location, weights_only=False)
        except Exception as e:
            raise RuntimeError(f'cannot read checkpoint {path}: {type(e).__name__}: {e}') from first


def load_state_dict_file(filename, map_location='cpu'):
    """The raw checkpoint dict of ``filename`` (a path or a pretrained name)."""
    path = resolve_pretrained(filename)
    ckpt = _torch_load(path, map_location)
    if not isinstance(ckpt, dict):
        raise RuntimeError(f'{path}: a checkpoint must hold a dict, got {type(ckpt).__name__}')
    return ckpt


def _state_dict_of(ckpt):
    sd = ckpt.get('state_dict', ckpt.get('model', ckpt))
    if list(sd) and all(k.startswith('module.') for k in sd):
        sd = OrderedDict((k[7:], v) for k, v in sd.items())
    return sd


def load_checkpoint(model, filename, map_location='cpu', strict=False, logger=None, prefix=None):
    """Load weights into ``model``; with ``prefix`` only keys under it (prefix removed)."""
    ckpt = load_state_dict_file(filename, map_location)
    sd = _state_dict_of(ckpt)
    if prefix is not None:
        p = prefix if prefix.endswith('.') else prefix + '.'
        sd = OrderedDict((k[len(p):], v) for k, v in sd.items() if k.startswith(p))
    target = model.module if hasattr(model, 'module') else model
    missing, unexpected, mismatched = _load_matching(target, sd, strict, filename)
    if logger is not None:
        from mmdet.utils import print_log
        if mismatched:
            # e.g. fine-tuning a COCO checkpoint on a dataset with another class count
            print_log(f'loaded {filename} except {len(mismatched)} tensors whose shape differs from the model '
                      f'(left as initialised): {"; ".join(mismatched)}', logger)
        if missing or unexpected:
            print_log(f'loaded {filename}: missing keys {missing[:10]}{"..." if len(missing) > 10 else ""}, '
                      f'unexpected keys {unexpected[:10]}{"..." if len(unexpected) > 10 else ""}', logger)
    return ckpt


def _load_matching(module, sd, strict, filename):
    own = module.state_dict()
    shape_mismatch = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                      for k, v in sd.items() if k in own and own[k].shape != v.shape]
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    if strict and (missing or unexpected or shape_mismatch):
        raise RuntimeError(f'{filename} does not match the model: missing {missing[:8]}, unexpected '
                           f'{unexpected[:8]}, shape mismatch {shape_mismatch[:8]}')
    if shape_mismatch:
        sd = {k: v for k, v in sd.items() if not (k in own and own[k].shape != v.shape)}
    module.load_state_dict(sd, strict=False)
    return missing, unexpected, shape_mismatch


def rng_state():
    return {'python': random.getstate(), 'numpy': np.random.get_state(), 'torch': torch.get_rng_state(),
            'cuda': torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state):
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if state.get('cuda') is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def save_checkpoint(model, filename, optimizer=None, meta=None, extra=None):
    """Write atomically: to ``filename.tmp`` then rename, so a kill never leaves half a file."""
    meta = dict(meta or {})
    meta.update(mmdet_version=mmdet.__version__, time=time.asctime())
    target = model.module if hasattr(model, 'module') else model
    ckpt = {'meta': meta, 'state_dict': OrderedDict((k, v.detach().cpu()) for k, v in target.state_dict().items())}
    if optimizer is not None:
        ckpt['optimizer'] = optimizer.state_dict()
    if extra:
        ckpt.update(extra)
    os.makedirs(osp.dirname(osp.abspath(filename)), exist_ok=True)
    tmp = f'{filename}.tmp{os.getpid()}'
    torch.save(ckpt, tmp)
    os.replace(tmp, filename)


def link_latest(work_dir, filename, latest='latest.pth'):
    """Point ``latest.pth`` at ``filename`` (a symlink where possible, else a copy), atomically."""
    dst = osp.join(work_dir, latest)
    tmp = f'{dst}.tmp{os.getpid()}'
    if osp.lexists(tmp):
        os.remove(tmp)
    try:
        os.symlink(osp.basename(filename), tmp)
    except OSError:
        import shutil
        shutil.copyfile(filename, tmp)
    os.replace(tmp, dst)
