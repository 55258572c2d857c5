"""Any `timm <https://github.com/huggingface/pytorch-image-models>`_ model as a detector backbone,
and the local-file pretrained loading the backbones of this folder share.

timm is an optional extra (``pip install timm``), imported when a
:class:`TIMMBackbone` is built.  Weights never come from the network: timm's
own ``pretrained`` is always False and the file is found on this machine (see
:func:`find_timm_pretrained`) or given as a path; a missing file raises a
``FileNotFoundError`` that says where to put it.
"""
import glob
import os
import os.path as osp
import sys
from collections import OrderedDict

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.runner.checkpoint import find_in_hub_cache, hub_checkpoint_dir
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES

TIMM_EXTRA = 'pip install timm'


# ------------------------------------------------------------------ pretrained files, found locally
def hf_hub_cache_dir():
    """The Hugging Face hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
    ``~/.cache/huggingface/hub``), where timm >= 0.9 keeps the weights it downloads."""
    if os.environ.get('HF_HUB_CACHE'):
        return os.environ['HF_HUB_CACHE']
    home = os.environ.get('HF_HOME') or osp.join(os.environ.get('XDG_CACHE_HOME', osp.expanduser('~/.cache')),
                                                  'huggingface')
    return osp.join(home, 'hub')


def find_local_pretrained(name, stems, owner):
    """The local file of pretrained weights ``name``.

    Args:
        name (str): a path, or a 2.x name (``open-mmlab://resnest50``, ``mmcls://mobilenet_v2``,
            ``torchvision://resnet50``, ...).
        stems (dict): name -> stem of its file (``'open-mmlab://resnest50': 'resnest50_d2'``);
            the file is ``<stem>-<hash>.pth`` or ``<stem>.pth`` in :func:`hub_checkpoint_dir`.
            Names without a stem here go to :func:`mmdet.runner.checkpoint.resolve_pretrained`.
        owner (str): the backbone, for the error message.

    Raises:
        FileNotFoundError: naming the exact place the file is looked for.
    """
    from mmdet.runner.checkpoint import resolve_pretrained
    stem = stems.get(name)
    if stem is None:
        if name.startswith('mmcls://'):
            raise FileNotFoundError(f"{owner}: unknown pretrained name '{name}' (known: {sorted(stems)}); "
                                    f'give a local file path instead')
        return resolve_pretrained(name)
    found = find_in_hub_cache((stem, name.split('://', 1)[1].replace('/', '_')))
    if found:
        return found
    d = hub_checkpoint_dir()
    raise FileNotFoundError(
        f"{owner}: pretrained weights '{name}' are not on this machine and this toolbox does not download "
        f"them: put the file at {osp.join(d, stem + '-<hash>.pth')} (e.g. copied from a machine with internet "
        f'access), give a local path, or set pretrained=None')


def find_timm_pretrained(model_name):
    """The local file of timm's pretrained weights for ``model_name`` (``arch`` or ``arch.tag``).

    Looked for, in order:

    1. ``<hub>/<model_name>.pth`` / ``.safetensors`` / ``<model_name>-*.pth``, and the same
       for the architecture without its tag, with ``<hub>`` = :func:`hub_checkpoint_dir`;
    2. ``<hub>/<file of timm's URL>`` (where timm's URL downloads go, e.g.
       ``convnext_atto_d2-01bb0f51.pth``);
    3. timm's Hugging Face download: ``<hf cache>/models--timm--<arch.tag>/snapshots/*/model.safetensors``
       or ``pytorch_model.bin``, with ``<hf cache>`` = :func:`hf_hub_cache_dir`.

    Raises:
        FileNotFoundError: ``TIMMBackbone: no local pretrained weights for timm model '...'`` with
            the first place to put them and the other places looked at.
    """
    hub = hub_checkpoint_dir()
    arch = model_name.split('.', 1)[0]
    candidates = []
    for stem in dict.fromkeys((model_name, arch)):
        candidates += [osp.join(hub, f'{stem}.pth'), osp.join(hub, f'{stem}.safetensors'),
                       osp.join(hub, f'{stem}-*.pth')]
    hf_repo = None
    try:
        from timm.models import get_pretrained_cfg
        cfg = get_pretrained_cfg(model_name)
    except Exception:  # an unknown tag, an old timm: only the plain file names
        cfg = None
    if cfg is not None:
        if getattr(cfg, 'url', None):
            candidates.append(osp.join(hub, osp.basename(cfg.url.split('?')[0])))
        hf_id = getattr(cfg, 'hf_hub_id', None)
        if hf_id:
            if hf_id.endswith('/'):
                hf_id += model_name if '.' in model_name else f'{arch}.{cfg.tag}' if cfg.tag else arch
            hf_repo = osp.join(hf_hub_cache_dir(), 'models--' + hf_id.replace('/', '--'), 'snapshots', '*')
            candidates += [osp.join(hf_repo, 'model.safetensors'), osp.join(hf_repo, 'pytorch_model.bin')]
    for pattern in candidates:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    raise FileNotFoundError(
        f"TIMMBackbone: no local pretrained weights for timm model '{model_name}', and this toolbox does not "
        f'download them: put a timm state dict at {candidates[0]} (on a machine with internet access: '
        f"torch.save(timm.create_model('{model_name}', pretrained=True).state_dict(), "
        f"'{osp.basename(candidates[0])}')), "
        f'give its path as pretrained=..., or set pretrained=False. Also looked for: '
        f'{", ".join(candidates[1:])}')


def read_state_dict(path):
    """The tensors of a checkpoint file: a ``.safetensors`` file, or a ``.pth``/``.bin``
    (the state dict itself or under ``state_dict`` / ``model``; ``module.`` prefixes dropped)."""
    if path.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError as e:
            raise ImportError(f'{path} is a .safetensors file: reading it needs `pip install safetensors`') from e
        return OrderedDict(load_file(path, device='cpu'))
    from mmdet.runner.checkpoint import _state_dict_of, load_state_dict_file
    return OrderedDict(_state_dict_of(load_state_dict_file(path)))


def strip_prefix(state_dict, prefixes):
    """Drop the first of ``prefixes`` that every key under it shares (a detector's
    ``backbone.``, MMClassification's ``backbone.``, ...); keys outside it go."""
    for p in prefixes:
        under = OrderedDict((k[len(p):], v) for k, v in state_dict.items() if k.startswith(p))
        if under:
            return under
    return state_dict


def load_weights(module, path, convert=None, owner=None, prefixes=('backbone.',), logger=None):
    """Load the backbone weights in ``path`` into ``module``; returns ``(missing, unexpected)``.

    A detector checkpoint or an MMClassification one (keys under ``backbone.``) is
    reduced to its backbone; ``convert(state_dict)`` may rename keys.  Keys the
    module lacks (a classifier head) are skipped; tensors whose shape differs are
    not loaded; both, and missing keys, are logged.
    """
    from mmdet.utils import get_root_logger, print_log
    sd = strip_prefix(read_state_dict(path), prefixes)
    if convert is not None:
        sd = convert(sd)
    own = module.state_dict()
    mismatched = [k for k, v in sd.items() if k in own and own[k].shape != v.shape]
    loadable = OrderedDict((k, v) for k, v in sd.items() if k in own and k not in mismatched)
    module.load_state_dict(loadable, strict=False)
    missing = [k for k in own if k not in loadable]
    unexpected = [k for k in sd if k not in own]
    logger = logger or get_root_logger()
    if missing or mismatched:
        print_log(f'{owner or type(module).__name__}: loaded {path}; missing {len(missing)} keys {missing[:8]}, '
                  f'shape mismatch {mismatched[:8]}', logger)
    if unexpected:
        print_log(f'{owner or type(module).__name__}: {path} has {len(unexpected)} keys the backbone does not use '
                  f'(e.g. a classifier head): {unexpected[:8]}', logger)
    return missing, unexpected


# ------------------------------------------------------------------ the backbone
def import_timm():
    try:
        import timm
    except ImportError as e:
        raise ImportError(f'TIMMBackbone needs the optional extra timm: {TIMM_EXTRA}') from e
    return timm


def to_feature_keys(state_dict, own_keys):
    """Map a timm classification model's keys (``stages.0.blocks.0.conv_dw.weight``) to its
    ``features_only`` wrapper's (``stages_0.blocks.0...``: timm flattens the first level of
    ``nn.Sequential`` children into ``name_index``); keys already in the wrapper's form, or
    saved by a :class:`TIMMBackbone` (``timm_model.``) or a detector (``backbone.timm_model.``)
    map to themselves. Keys with no counterpart (the classifier head, a final norm) are dropped."""
    sd = strip_prefix(state_dict, ('backbone.timm_model.', 'timm_model.'))
    out = OrderedDict()
    for k, v in sd.items():
        for cand in (k, k.replace('.', '_', 1)):
            if cand in own_keys:
                out[cand] = v
                break
    return out


@BACKBONES.register_module()
class TIMMBackbone(nn.Module):
    """A timm model's feature maps (``timm.create_model(model_name, features_only=True, ...)``).

    Args:
        model_name (str): a timm model name (``convnext_tiny``, ``swin_tiny_patch4_window7_224``,
            ``efficientnet_b3``, ``regnetx_032``, ...), optionally with a weight tag
            (``convnext_tiny.fb_in1k``).
        features_only (bool): the model's multi-scale feature maps (default); with False,
            its last feature map only (``forward_features``), as a 1-tuple.
        pretrained (bool | str | None): ImageNet weights, never downloaded: ``True`` or
            ``'timm://<name>'`` finds timm's weights for ``model_name`` / ``<name>`` on this
            machine (:func:`find_timm_pretrained`), a path names the file (a timm state dict,
            a ``.safetensors`` file, or a checkpoint of this backbone or of a detector using it).
            Loaded by :meth:`init_weights`. Default None.
        checkpoint_path (str | None): a local weight file, as ``pretrained`` with a path
            (timm's argument of that name); not both.
        out_indices (Sequence[int] | None): which of the model's feature levels to return
            (indices into all of timm's levels, e.g. ``(1, 2, 3, 4)`` for strides 4..32 of
            an EfficientNet); None: timm's default (all). Only with ``features_only``.
        frozen_stages (int): -1: nothing frozen; k >= 0: the stem (everything before the
            first feature level) and the first k feature levels (with whatever lies between
            them) keep their weights and stay in eval mode.
        norm_eval (bool): keep BatchNorm layers in eval mode while training. Default False.
        **kwargs: passed to ``timm.create_model`` (``drop_path_rate``, ``strict_img_size``,
            ``embed_dim``, ``depths``, ...).

    Attributes:
        timm_model: the timm model (state-dict keys ``timm_model.*``).
        out_channels (list[int]), strides (list[int]): per returned map, from timm's ``feature_info``.

    Shapes: (N, 3, H, W) -> tuple of (N, out_channels[i], H / strides[i], W / strides[i])
    (channels-last outputs, e.g. Swin's, are returned channels-first).
    """

    def __init__(self, model_name, features_only=True, pretrained=None, checkpoint_path=None, out_indices=None,
                 frozen_stages=-1, norm_eval=False, **kwargs):
        super().__init__()
        timm = import_timm()
        if not isinstance(model_name, str) or not model_name:
            raise InvalidArgumentError(f'TIMMBackbone model_name must be a timm model name, got {model_name!r}')
        if pretrained not in (None, False, True) and not isinstance(pretrained, str):
            raise InvalidArgumentError(f'TIMMBackbone pretrained must be None, a bool, a path or "timm://<name>", '
                                       f'got {pretrained!r}')
        if pretrained not in (None, False) and checkpoint_path:
            raise InvalidArgumentError(f'TIMMBackbone: give pretrained or checkpoint_path, not both (got '
                                       f'pretrained={pretrained!r}, checkpoint_path={checkpoint_path!r})')
        if out_indices is not None and not features_only:
            raise InvalidArgumentError(f'TIMMBackbone out_indices={out_indices!r} needs features_only=True')
        for key in ('pretrained_cfg_overlay', 'pretrained_cfg'):
            if key in kwargs:
                raise InvalidArgumentError(f'TIMMBackbone: {key} is not supported (weights are loaded from a local '
                                           f'file by pretrained=...)')
        self.model_name, self.features_only = model_name, features_only
        self.pretrained = checkpoint_path or (None if pretrained is False else pretrained)
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.timm_kwargs = dict(kwargs)
        create_kwargs = dict(kwargs)
        if features_only:
            create_kwargs['features_only'] = True
            if out_indices is not None:
                create_kwargs['out_indices'] = tuple(out_indices)
        else:
            create_kwargs.update(num_classes=0, global_pool='')
        if not timm.is_model(model_name.split('.', 1)[0]):
            raise InvalidArgumentError(f"TIMMBackbone model_name '{model_name}' is not a timm {timm.__version__} "
                                       f'model (see timm.list_models())')
        try:
            self.timm_model = timm.create_model(model_name, pretrained=False, **create_kwargs)
        except TypeError as e:
            raise TypeError(f"TIMMBackbone: timm.create_model('{model_name}') does not accept {sorted(kwargs)}: "
                            f'{e}') from None
        fmt = getattr(self.timm_model, 'output_fmt', None)
        self.channels_last = str(getattr(fmt, 'value', fmt)) == 'NHWC'
        if features_only:
            info = self.timm_model.feature_info
            self.out_channels, self.strides = list(info.channels()), list(info.reduction())
            self.out_indices = tuple(info.out_indices)
            # the levels the wrapper holds (timm drops the modules after the last out index)
            names = dict(self.timm_model.named_modules())
            self.level_modules = []
            for d in info.info:
                name = next((c for c in (d['module'], d['module'].replace('.', '_', 1)) if c in names), None)
                if name is None:
                    break
                self.level_modules.append(name)
        else:
            last = self.timm_model.feature_info[-1] if getattr(self.timm_model, 'feature_info', None) else {}
            self.out_channels = [self.timm_model.num_features]
            self.strides = [last.get('reduction', 32)]
            self.out_indices = (0,)
            self.level_modules = [d['module'] for d in getattr(self.timm_model, 'feature_info', [])]
        num_levels = len(self.level_modules)
        if not (isinstance(frozen_stages, int) and -1 <= frozen_stages <= num_levels):
            raise InvalidArgumentError(f'TIMMBackbone frozen_stages must be an int in [-1, {num_levels}] '
                                       f"('{model_name}' has {num_levels} feature levels), got {frozen_stages!r}")
        if frozen_stages >= 0 and not self.level_modules:
            raise InvalidArgumentError(f"TIMMBackbone: '{model_name}' has no feature_info, frozen_stages must be -1")
        self._freeze_stages()

    def frozen_modules(self):
        """The modules ``frozen_stages`` freezes, in order (each to be frozen without its children
        beyond the range: containers are listed, but only their own parameters count)."""
        if self.frozen_stages < 0:
            return []
        modules = list(self.timm_model.named_modules())[1:]
        names = [n for n, _ in modules]

        def first(level):
            return names.index(self.level_modules[level])

        def last(level):
            name = self.level_modules[level]
            return max(i for i, n in enumerate(names) if n == name or n.startswith(name + '.'))

        end = first(0) - 1 if self.frozen_stages == 0 else last(self.frozen_stages - 1)
        return [m for _, m in modules[:end + 1]]

    def _freeze_stages(self):
        for m in self.frozen_modules():
            m.training = False  # this module only: a container's later children are not frozen
            for p in m.parameters(recurse=False):
                p.requires_grad = False

    def init_weights(self, pretrained=None):
        """Load ``pretrained`` (the detector's) or ``self.pretrained`` from a local file; without
        either the weights stay as timm initialised them."""
        pretrained = pretrained if pretrained is not None else self.pretrained
        if pretrained in (None, False):
            return
        if pretrained is True:
            path = find_timm_pretrained(self.model_name)
        elif pretrained.startswith('timm://'):
            path = find_timm_pretrained(pretrained[len('timm://'):])
        elif '://' in pretrained:
            raise InvalidArgumentError(
                f"TIMMBackbone pretrained must be a local path, True or 'timm://<name>', got '{pretrained}' (the "
                f"model-level pretrained= of a base config? set model.pretrained='timm://{self.model_name}' or None)")
        else:
            path = osp.expanduser(pretrained)
            if not osp.isfile(path):
                raise FileNotFoundError(f'TIMMBackbone: pretrained weight file not found: {path}')
        self.load_timm_weights(path)

    def load_timm_weights(self, path):
        """Load a timm state dict (of the classification model, or of this backbone) from ``path``.
        Every backbone tensor must be in the file (a wrong model's weights raise, naming the
        missing keys); keys the backbone does not use (the classifier) are skipped."""
        from mmdet.utils import get_root_logger, print_log
        sd = read_state_dict(path)
        own = self.timm_model.state_dict()
        mapped = to_feature_keys(sd, own)
        if any(k not in mapped for k in own):  # an original (non-timm) checkpoint: timm's converter
            converted = self._timm_converted(sd)
            if converted is not None:
                mapped = to_feature_keys(converted, own)
        missing = [k for k in own if k not in mapped]
        mismatched = [f'{k}: file {tuple(mapped[k].shape)} vs model {tuple(own[k].shape)}'
                      for k in own if k in mapped and mapped[k].shape != own[k].shape]
        if missing or mismatched:
            raise RuntimeError(f"TIMMBackbone: {path} does not hold the weights of timm model '{self.model_name}' "
                               f'(with these kwargs): {len(missing)} missing keys {missing[:8]}, shape mismatch '
                               f'{mismatched[:8]}')
        self.timm_model.load_state_dict(mapped, strict=True)
        print_log(f"TIMMBackbone: loaded '{self.model_name}' weights from {path} "
                  f'({len(sd) - len(mapped)} unused keys of the file skipped)', get_root_logger())

    def _timm_converted(self, state_dict):
        """``state_dict`` through timm's ``checkpoint_filter_fn`` of the model's module (which
        turns an original repository's checkpoint into timm's layout), or None."""
        timm = import_timm()
        try:
            base = timm.create_model(self.model_name, pretrained=False, **self.timm_kwargs)
            filter_fn = getattr(sys.modules[type(base).__module__], 'checkpoint_filter_fn', None)
            return filter_fn(state_dict, base) if filter_fn is not None else None
        except Exception:
            return None

    def forward(self, x):
        if self.features_only:
            outs = self.timm_model(x)
        else:
            outs = [self.timm_model.forward_features(x)]
        if self.channels_last:
            outs = [o.permute(0, 3, 1, 2).contiguous() for o in outs]
        return tuple(outs)

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
