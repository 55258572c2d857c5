"""Saving and loading checkpoints (ours and original 2.x ones).

Pretrained names resolve without the network:
``torchvision://resnet50`` and ``open-mmlab://resnext101_32x4d`` look for
``<name>-*.pth`` / ``<name>.pth`` in the torch hub cache
(``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/hub/checkpoints``).
"""
import glob
import os
import os.path as osp
import pickle
import random
import time
import warnings
from collections import OrderedDict

import numpy as np
import torch

import mmdet

# open-mmlab names whose files are stored under a different stem
_OPENMMLAB_ALIASES = {
    'res2net101_v1d_26w_4s': 'res2net101_v1d_26w_4s_mmdetv2',
    'resnext101_32x4d': 'resnext101_32x4d',
    'resnext101_64x4d': 'resnext101_64x4d',
    # mmcv's names for the Detectron2 (MSRA) caffe-style ResNets of the *_caffe_* configs
    'detectron2/resnet50_caffe': 'resnet50_msra',
    'detectron2/resnet101_caffe': 'resnet101_msra',
    # ... and for the Detectron (v1) caffe ResNets of the FCOS / NAS-FCOS configs
    'detectron/resnet50_caffe': 'resnet50_caffe',
    'detectron/resnet101_caffe': 'resnet101_caffe',
    # the HRNetV2 ImageNet models of the hrnet configs
    'msra/hrnetv2_w18': 'hrnetv2_w18',
    'msra/hrnetv2_w32': 'hrnetv2_w32',
    'msra/hrnetv2_w40': 'hrnetv2_w40',
}


def hub_checkpoint_dir():
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def find_in_hub_cache(stems):
    """The first ``<stem>-<hash>.pth`` or ``<stem>.pth`` in :func:`hub_checkpoint_dir`, trying ``stems`` in
    order (torch hub's file naming); None when there is none."""
    d = hub_checkpoint_dir()
    for s in stems:
        hits = sorted(glob.glob(osp.join(d, f'{s}-*.pth'))) + sorted(glob.glob(osp.join(d, f'{s}.pth')))
        if hits:
            return hits[0]
    return None


def resolve_pretrained(name):
    """Turn a ``pretrained`` value into a local file path, or raise naming where to put it."""
    if name.startswith(('torchvision://', 'open-mmlab://', 'modelzoo://')):
        scheme, stem = name.split('://', 1)
        stems = [stem, _OPENMMLAB_ALIASES.get(stem, stem)]
        found = find_in_hub_cache(stems)
        if found:
            return found
        d = hub_checkpoint_dir()
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


def _numpy_safe_globals():
    """The numpy objects 2.x checkpoints keep in their meta (arrays, scalars, dtypes)."""
    out = [np.ndarray, np.dtype]
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            m = __import__(mod, fromlist=['_reconstruct', 'scalar'])
            out += [m._reconstruct, m.scalar]
        except (ImportError, AttributeError):
            pass
    out += [type(np.dtype(t)) for t in ('f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', '?')]
    return out


class _InertObject:
    """Stands in for a class whose module is not importable or not trusted (e.g.
    ``mmcv.Config`` in an original checkpoint's meta): it keeps what the pickle
    gives it and does nothing else."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state):
        self.state = state

    # subclasses of dict / list (mmcv's ConfigDict, ...) are filled item by item
    def __setitem__(self, key, value):
        self.__dict__.setdefault('items', {})[key] = value

    def append(self, value):
        self.__dict__.setdefault('values', []).append(value)

    def extend(self, values):
        self.__dict__.setdefault('values', []).extend(values)

    def __repr__(self):
        return f'<stand-in for {type(self).__module__}.{type(self).__qualname__}>'


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles tensors, containers and numpy values for real, and every other
    class as an inert stand-in: no function or class from the file runs."""
    stand_ins = {}

    def find_class(self, module, name):
        real = _allowed_global(module, name)
        if real is not None:
            return real
        key = (module, name)
        if key not in self.stand_ins:
            self.stand_ins[key] = type(name, (_InertObject,), {'__module__': module, '__qualname__': name})
            warnings.warn(f'checkpoint meta holds {module}.{name}, which is not loaded (kept as an inert stand-in; '
                          'no code from the file is run)')
        return self.stand_ins[key]


def _allowed_global(module, name):
    """The real object for an exact allow-list of (module, name) pairs: tensor and
    storage rebuilding, containers, numpy arrays/scalars/dtypes; None otherwise.
    Nothing named by the file is imported."""
    import builtins
    import codecs
    if (module, name) == ('collections', 'OrderedDict'):
        return OrderedDict
    if module == 'torch._utils' and name.startswith('_rebuild_') and hasattr(torch._utils, name):
        return getattr(torch._utils, name)
    if module in ('torch', 'torch.storage') and (name.endswith('Storage') or name in ('Size', 'device', 'dtype')) \
            and hasattr(torch, name):
        return getattr(torch, name)
    if (module, name) == ('_codecs', 'encode'):  # how bytes inside numpy scalars are pickled
        return codecs.encode
    if module == 'builtins' and name in ('set', 'frozenset', 'tuple', 'list', 'dict', 'int', 'float', 'str', 'bytes',
                                         'bool', 'complex', 'slice', 'range'):
        return getattr(builtins, name)
    numpy_core = {'numpy.core.multiarray', 'numpy._core.multiarray'}
    if module in numpy_core and name in ('_reconstruct', 'scalar'):
        for real in _numpy_safe_globals():
            if getattr(real, '__name__', None) == name and name in ('_reconstruct', 'scalar'):
                return real
    if module == 'numpy' and name in ('ndarray', 'dtype'):
        return getattr(np, name)
    if module == 'numpy.dtypes' and name.endswith('DType') and hasattr(np, 'dtypes'):
        return getattr(np.dtypes, name, None)
    return None


class _SafePickleModule:
    """What ``torch.load(pickle_module=...)`` needs: ``Unpickler`` and ``load``."""
    Unpickler = _SafeUnpickler
    __name__ = 'mmdet_safe_pickle'

    @staticmethod
    def load(f, **kwargs):
        return _SafeUnpickler(f, **kwargs).load()


def _torch_load(path, map_location):
    """``weights_only`` loading with numpy values allowed; checkpoints whose meta
    pickles other objects (mmcv's Config, ...) are read with an unpickler that
    replaces those by inert stand-ins.  Never executes code from the file."""
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as first:
        try:
            return torch.load(path, map_location=map_location, weights_only=False, pickle_module=_SafePickleModule)
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
    """The generators' states; for CUDA only the current device's, the one this process draws on (every
    device's would not restore on a machine that shows fewer of them, and each rank has its own)."""
    return {'python': random.getstate(), 'numpy': np.random.get_state(), 'torch': torch.get_rng_state(),
            'cuda': torch.cuda.get_rng_state() if torch.cuda.is_available() else None}


def set_rng_state(state):
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if isinstance(cuda, (list, tuple)):  # an older checkpoint: one state per device, take this process's
        index = torch.cuda.current_device() if torch.cuda.is_available() else 0
        cuda = cuda[index] if index < len(cuda) else None
    if cuda is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(cuda)


def save_checkpoint(model, filename, optimizer=None, meta=None, extra=None):
    """Write atomically: to ``filename.tmp<pid>`` then rename, so a kill never leaves half a file; a
    failed write (a full disk, ...) removes the temporary file and raises an ``OSError`` naming ``filename``."""
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

    def write():
        # through a Python file: a full disk then raises OSError(ENOSPC), not torch's opaque RuntimeError
        with open(tmp, 'wb') as f:
            torch.save(ckpt, f)
        os.replace(tmp, filename)
    _write_or_clean_up(write, tmp, f'cannot write checkpoint {filename}')


def link_latest(work_dir, filename, latest='latest.pth'):
    """Point ``latest.pth`` at ``filename`` (a symlink where possible, else a copy), atomically; on a
    failure the old ``latest.pth`` stays and no temporary file is left."""
    dst = osp.join(work_dir, latest)
    tmp = f'{dst}.tmp{os.getpid()}'

    def write():
        _remove_if_there(tmp)
        try:
            os.symlink(osp.basename(filename), tmp)
        except OSError:
            import shutil
            shutil.copyfile(filename, tmp)
        os.replace(tmp, dst)
    _write_or_clean_up(write, tmp, f'cannot point {dst} at {filename}')


def _remove_if_there(path):
    if osp.lexists(path):
        os.remove(path)


def _write_or_clean_up(write, tmp, what):
    """Run ``write()``; on any failure remove the temporary file ``tmp`` (a partial file would keep a full
    disk full) and re-raise: a failed write as an ``OSError`` of the same errno whose message starts with
    ``what``, anything else unchanged.  The file being replaced is untouched: it is only ever swapped for a
    complete one."""
    try:
        write()
    except BaseException as e:
        try:
            _remove_if_there(tmp)
            left = 'no partial file is left'
        except OSError as rm_error:
            left = f'the partial file {tmp} could not be removed ({rm_error})'
        os_error = _os_error_in(e)
        if os_error is not None:
            msg = f'{what}: {os_error.strerror or os_error}; {left}, earlier checkpoints are unchanged'
            raise (OSError(os_error.errno, msg) if os_error.errno is not None else OSError(msg)) from e
        raise


def _os_error_in(e):
    """``e`` or the OSError behind it: torch.save reports a failed write as a RuntimeError raised while
    handling the OSError."""
    seen = set()
    while isinstance(e, Exception) and id(e) not in seen and not isinstance(e, OSError):  # not an interrupt
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return e if isinstance(e, OSError) else None


# what only resuming needs; a published model keeps its classes, config and versions
TRAINING_ONLY_KEYS = ('optimizer', 'amp_scaler', 'lr_scheduler', 'hook_states')
TRAINING_ONLY_META = ('rng', 'iter', 'hook_msgs', 'seed')


def publish_checkpoint(in_file, out_file):
    """Write ``in_file`` without optimizer and training-only state to
    ``<out_file stem>-<first 8 hex of its sha256>.pth`` (MMDetection 2.x's
    naming); returns that path.  Stand-ins for classes that could not be
    loaded from the meta are written as their names."""
    import hashlib
    ckpt = load_state_dict_file(in_file)
    for key in TRAINING_ONLY_KEYS:
        ckpt.pop(key, None)
    if isinstance(ckpt.get('meta'), dict):
        ckpt['meta'] = {k: _without_stand_ins(v) for k, v in ckpt['meta'].items() if k not in TRAINING_ONLY_META}
    tmp = f'{out_file}.tmp{os.getpid()}'
    try:
        torch.save(ckpt, tmp)
        sha = hashlib.sha256()
        with open(tmp, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                sha.update(block)
        stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
        final = f'{stem}-{sha.hexdigest()[:8]}.pth'
        os.replace(tmp, final)
    finally:
        if osp.exists(tmp):  # a failed write leaves nothing behind
            os.remove(tmp)
    return final


def _without_stand_ins(value):
    if isinstance(value, _InertObject):
        return repr(value)
    if isinstance(value, dict):
        return {k: _without_stand_ins(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_stand_ins(v) for v in value)
    return value
