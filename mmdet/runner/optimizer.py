"""Optimizers from ``optimizer=dict(type='SGD', lr=..., paramwise_cfg=...)``."""
import torch
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from mmdet.ops import DeformConv2d

OPTIMIZERS = {name: getattr(torch.optim, name) for name in dir(torch.optim)
              if isinstance(getattr(torch.optim, name), type) and issubclass(getattr(torch.optim, name),
                                                                               torch.optim.Optimizer)
              and name != 'Optimizer'}


def param_groups(model, base_lr, base_wd, paramwise_cfg):
    """One group per parameter with the 2.x multipliers applied.

    ``custom_keys``: the longest key contained in a parameter's name sets its
    ``lr_mult`` / ``decay_mult``; otherwise ``bias_lr_mult`` / ``bias_decay_mult``
    for biases (not of norm or deformable layers), ``norm_decay_mult`` for
    norm layers, ``dwconv_decay_mult`` for depth-wise convs.
    """
    cfg = dict(paramwise_cfg or {})
    custom = cfg.pop('custom_keys', {})
    bias_lr = cfg.pop('bias_lr_mult', 1.)
    bias_decay = cfg.pop('bias_decay_mult', 1.)
    norm_decay = cfg.pop('norm_decay_mult', 1.)
    dwconv_decay = cfg.pop('dwconv_decay_mult', 1.)
    cfg.pop('bypass_duplicate', None)
    if cfg:
        raise KeyError(f'optimizer.paramwise_cfg has unknown keys {sorted(cfg)}')
    keys = sorted(sorted(custom), key=len, reverse=True)
    groups = []
    for mname, module in model.named_modules():
        is_norm = isinstance(module, (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm))
        is_dcn = isinstance(module, DeformConv2d)
        is_dw = isinstance(module, torch.nn.Conv2d) and module.in_channels == module.groups > 1
        for name, p in module.named_parameters(recurse=False):
            group = {'params': [p]}
            if not p.requires_grad:
                groups.append(group)
                continue
            full = f'{mname}.{name}' if mname else name
            lr, wd = base_lr, base_wd
            hit = next((k for k in keys if k in full), None)
            if hit is not None:
                lr = base_lr * custom[hit].get('lr_mult', 1.)
                wd = None if base_wd is None else base_wd * custom[hit].get('decay_mult', 1.)
            else:
                if name == 'bias' and not (is_norm or is_dcn):
                    lr = base_lr * bias_lr
                if base_wd is not None:
                    if is_norm:
                        wd = base_wd * norm_decay
                    elif name == 'bias' and not is_dcn:
                        wd = base_wd * bias_decay
                    elif is_dw:
                        wd = base_wd * dwconv_decay
            group['lr'] = lr
            if wd is not None:
                group['weight_decay'] = wd
            groups.append(group)
    return groups


def build_optimizer(model, cfg):
    cfg = dict(cfg)
    if hasattr(model, 'module'):
        model = model.module
    opt_type = cfg.pop('type', 'SGD')
    if opt_type not in OPTIMIZERS:
        raise KeyError(f"optimizer type '{opt_type}' is not in torch.optim (e.g. SGD, Adam, AdamW)")
    paramwise = cfg.pop('paramwise_cfg', None)
    cfg.pop('constructor', None)
    if 'lr' not in cfg:
        raise KeyError('optimizer config needs lr')
    groups = param_groups(model, cfg['lr'], cfg.get('weight_decay'), paramwise) if paramwise else model.parameters()
    try:
        return OPTIMIZERS[opt_type](groups, **cfg)
    except TypeError as e:
        raise TypeError(f'optimizer {opt_type}: {e}') from None
