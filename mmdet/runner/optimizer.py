"""Optimizers from ``optimizer=dict(type='SGD', lr=..., paramwise_cfg=...)``."""
import torch
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from mmdet.ops import DeformConv2d

from mmdet.utils import Registry, build_from_cfg

OPTIMIZERS = Registry('optimizer')  # 2.x: mmcv.runner.OPTIMIZERS, filled with torch.optim's optimizers
OPTIMIZER_BUILDERS = Registry('optimizer builder')  # 2.x: mmcv.runner.OPTIMIZER_BUILDERS
for _name in dir(torch.optim):
    _cls = getattr(torch.optim, _name)
    if isinstance(_cls, type) and issubclass(_cls, torch.optim.Optimizer) and _cls is not torch.optim.Optimizer:
        OPTIMIZERS.register_module(module=_cls)


def param_groups(model, base_lr, base_wd, paramwise_cfg, prefix='', is_dcn_module=False):
    """One group per parameter of ``model`` with mmcv 1.x's ``paramwise_cfg`` multipliers.

    ``custom_keys``: the longest key contained in a parameter's full name sets its ``lr_mult`` /
    ``decay_mult`` and no other rule applies.  Otherwise, as mmcv's ``DefaultOptimizerConstructor``:
    ``bias_lr_mult`` for biases, except those of norm layers and of the modules inside a deformable conv
    (its ``conv_offset``); ``dcn_offset_lr_mult`` for the weight and bias of a deformable conv's
    ``conv_offset``; weight decay ``norm_decay_mult`` for norm layers, else ``dwconv_decay_mult`` for
    depth-wise convs (``in_channels == groups``), else ``bias_decay_mult`` for biases not inside a
    deformable conv.  The decay multipliers need ``weight_decay`` in the optimizer config.
    ``bypass_duplicate=True`` skips (with a warning) a parameter already in a group, for models that share
    parameters between modules; without it torch refuses such a model, as with mmcv.

    Args:
        model (nn.Module): the module whose parameters (recursively) are grouped.
        base_lr (float), base_wd (float | None): the optimizer's ``lr`` and ``weight_decay``.
        paramwise_cfg (dict | None): the multipliers above.
        prefix (str): the name of ``model`` inside the whole model (for ``custom_keys``).
        is_dcn_module (bool): whether ``model``'s parent is a deformable conv.
    Returns:
        list[dict]: ``{'params': [p], 'lr': ..., 'weight_decay': ...}`` in ``named_parameters`` order.
    """
    import warnings
    cfg = dict(paramwise_cfg or {})
    custom = cfg.pop('custom_keys', {})
    if base_wd is None and any(k in cfg for k in ('bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult')):
        raise ValueError(f'optimizer.paramwise_cfg {sorted(cfg)}: a decay multiplier needs weight_decay in the '
                         'optimizer config (mmcv: base_wd should not be None)')
    bias_lr = cfg.pop('bias_lr_mult', 1.)
    bias_decay = cfg.pop('bias_decay_mult', 1.)
    norm_decay = cfg.pop('norm_decay_mult', 1.)
    dwconv_decay = cfg.pop('dwconv_decay_mult', 1.)
    dcn_offset_lr = cfg.pop('dcn_offset_lr_mult', 1.)
    bypass_duplicate = cfg.pop('bypass_duplicate', False)
    if cfg:
        raise KeyError(f'optimizer.paramwise_cfg has unknown keys {sorted(cfg)}')
    keys = sorted(sorted(custom), key=len, reverse=True)
    groups, seen = [], set()
    inside_dcn = {model: is_dcn_module}  # module -> whether its parent is a deformable conv
    for mname, module in model.named_modules(prefix=prefix):
        for child in module.children():
            inside_dcn[child] = isinstance(module, DeformConv2d)
        in_dcn = inside_dcn[module]
        is_norm = isinstance(module, (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm))
        is_dw = isinstance(module, torch.nn.Conv2d) and module.in_channels == module.groups
        is_offset = in_dcn and isinstance(module, torch.nn.Conv2d) and 'conv_offset' in mname
        for name, p in module.named_parameters(recurse=False):
            group = {'params': [p]}
            if not p.requires_grad:
                groups.append(group)
                continue
            full = f'{mname}.{name}' if mname else name
            if bypass_duplicate and id(p) in seen:
                warnings.warn(f'{full} is duplicate. It is skipped since bypass_duplicate=True')
                continue
            seen.add(id(p))
            lr, wd = base_lr, base_wd
            hit = next((k for k in keys if k in full), None)
            if hit is not None:
                lr = base_lr * custom[hit].get('lr_mult', 1.)
                wd = None if base_wd is None else base_wd * custom[hit].get('decay_mult', 1.)
            else:
                if name == 'bias' and not (is_norm or in_dcn):
                    lr = base_lr * bias_lr
                if is_offset:
                    lr = base_lr * dcn_offset_lr
                if base_wd is not None:
                    if is_norm:
                        wd = base_wd * norm_decay
                    elif is_dw:
                        wd = base_wd * dwconv_decay
                    elif name == 'bias' and not in_dcn:
                        wd = base_wd * bias_decay
            group['lr'] = lr
            if wd is not None:
                group['weight_decay'] = wd
            groups.append(group)
    return groups


@OPTIMIZER_BUILDERS.register_module()
class DefaultOptimizerConstructor:
    """Builds ``optimizer_cfg`` (``type`` from :data:`OPTIMIZERS`) over a model's
    parameters, with ``paramwise_cfg`` multipliers (see :func:`param_groups`).
    2.x's constructor interface: subclass it and override ``__call__`` or
    ``add_params(params, module)``, register it in :data:`OPTIMIZER_BUILDERS` and
    name it with ``optimizer = dict(constructor='MyConstructor', ...)``."""

    def __init__(self, optimizer_cfg, paramwise_cfg=None):
        if not isinstance(optimizer_cfg, dict):
            raise TypeError(f'optimizer config must be a dict, got {type(optimizer_cfg).__name__}')
        if 'lr' not in optimizer_cfg:
            raise KeyError('optimizer config needs lr')
        self.optimizer_cfg = dict(optimizer_cfg)
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = self.optimizer_cfg['lr']
        self.base_wd = self.optimizer_cfg.get('weight_decay')

    def add_params(self, params, module, prefix='', is_dcn_module=None):
        """Append the parameter groups (dicts with ``params``, ``lr``, ...) of ``module`` and all its
        submodules to ``params`` (mmcv's signature: ``prefix`` is ``module``'s name in the model,
        ``is_dcn_module`` whether its parent is a deformable conv)."""
        params.extend(param_groups(module, self.base_lr, self.base_wd, self.paramwise_cfg, prefix=prefix,
                                   is_dcn_module=bool(is_dcn_module)))

    def __call__(self, model):
        if hasattr(model, 'module'):
            model = model.module
        cfg = dict(self.optimizer_cfg)
        opt_type = cfg.get('type', 'SGD')
        if opt_type not in OPTIMIZERS:
            raise KeyError(f"optimizer type '{opt_type}' is not registered (torch.optim's, e.g. SGD, Adam, AdamW, "
                           f'or one registered in OPTIMIZERS)')
        if self.paramwise_cfg:
            params = []
            self.add_params(params, model)
        else:
            params = model.parameters()
        cfg['params'] = params
        cfg.setdefault('type', 'SGD')
        try:
            return build_from_cfg(cfg, OPTIMIZERS)
        except TypeError as e:
            raise TypeError(f'optimizer {opt_type}: {e}') from None


def build_optimizer_constructor(cfg):
    """``cfg``: ``dict(type=constructor name, optimizer_cfg=..., paramwise_cfg=...)``."""
    return build_from_cfg(cfg, OPTIMIZER_BUILDERS)


def build_optimizer(model, cfg):
    """Build the optimizer of config ``cfg`` (``optimizer=dict(type=..., lr=..., paramwise_cfg=...,
    constructor=...)``) for ``model``, through its constructor (2.x's ``build_optimizer``)."""
    cfg = dict(cfg)
    constructor = cfg.pop('constructor', 'DefaultOptimizerConstructor')
    paramwise = cfg.pop('paramwise_cfg', None)
    return build_optimizer_constructor(dict(type=constructor, optimizer_cfg=cfg, paramwise_cfg=paramwise))(model)
