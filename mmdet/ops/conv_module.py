"""Conv / norm / activation building blocks with the 2.x attribute names."""
import math

import torch.nn as nn

from .conv import Conv2d
from .deform_conv import DeformConv2dPack, ModulatedDeformConv2dPack

NORM_ABBR = {'BN': 'bn', 'BN1d': 'bn', 'BN2d': 'bn', 'SyncBN': 'bn', 'GN': 'gn', 'LN': 'ln', 'IN': 'in'}


def build_norm_layer(cfg, num_features, postfix=''):
    """Return ``(name, layer)``; ``name`` is ``bn``/``gn``/... plus ``postfix``."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"norm_cfg must be a dict with a 'type', got {cfg!r}")
    cfg = dict(cfg)
    layer_type = cfg.pop('type')
    requires_grad = cfg.pop('requires_grad', True)
    if layer_type not in NORM_ABBR:
        raise KeyError(f"unknown norm type '{layer_type}' (known: {sorted(NORM_ABBR)})")
    name = NORM_ABBR[layer_type] + str(postfix)
    cfg.setdefault('eps', 1e-5)
    if layer_type in ('BN', 'BN2d'):
        layer = nn.BatchNorm2d(num_features, **cfg)
    elif layer_type == 'BN1d':
        layer = nn.BatchNorm1d(num_features, **cfg)
    elif layer_type == 'SyncBN':
        layer = nn.SyncBatchNorm(num_features, **cfg)
    elif layer_type == 'GN':
        if 'num_groups' not in cfg:
            raise KeyError("GN norm_cfg needs 'num_groups'")
        layer = nn.GroupNorm(num_channels=num_features, **cfg)
    elif layer_type == 'LN':
        layer = nn.LayerNorm(num_features, **cfg)
    else:
        layer = nn.InstanceNorm2d(num_features, **cfg)
    for p in layer.parameters():
        p.requires_grad = requires_grad
    return name, layer


def build_conv_layer(cfg, *args, **kwargs):
    """``None``/Conv -> ``Conv2d`` (``nn.Conv2d`` with the Winograd CPU inference path);
    ``DCN`` -> DeformConv2dPack; ``DCNv2`` -> modulated."""
    cfg = dict(type='Conv2d') if cfg is None else dict(cfg)
    layer_type = cfg.pop('type')
    if layer_type in ('Conv', 'Conv2d'):
        return Conv2d(*args, **kwargs, **cfg)
    cfg.pop('fallback_on_stride', None)
    if 'deformable_groups' in cfg:
        cfg['deform_groups'] = cfg.pop('deformable_groups')
    if layer_type == 'DCN':
        return DeformConv2dPack(*args, **kwargs, **cfg)
    if layer_type == 'DCNv2':
        return ModulatedDeformConv2dPack(*args, **kwargs, **cfg)
    raise KeyError(f"unknown conv type '{layer_type}' (known: Conv, Conv2d, DCN, DCNv2)")


def build_activation_layer(cfg):
    cfg = dict(cfg)
    t = cfg.pop('type')
    table = {'ReLU': nn.ReLU, 'LeakyReLU': nn.LeakyReLU, 'Sigmoid': nn.Sigmoid, 'GELU': nn.GELU,
             'SiLU': nn.SiLU, 'Swish': nn.SiLU, 'Tanh': nn.Tanh}
    if t not in table:
        raise KeyError(f"unknown activation '{t}' (known: {sorted(table)})")
    if t in ('Sigmoid', 'GELU', 'Tanh'):
        cfg.pop('inplace', None)
    return table[t](**cfg)


def kaiming_init(module, a=0, mode='fan_out', nonlinearity='relu', bias=0, distribution='normal'):
    if distribution == 'uniform':
        nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    else:
        nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def normal_init(module, mean=0, std=1, bias=0):
    nn.init.normal_(module.weight, mean, std)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def constant_init(module, val, bias=0):
    if getattr(module, 'weight', None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def xavier_init(module, gain=1, bias=0, distribution='uniform'):
    if distribution == 'uniform':
        nn.init.xavier_uniform_(module.weight, gain=gain)
    else:
        nn.init.xavier_normal_(module.weight, gain=gain)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def bias_init_with_prob(prior_prob):
    """The bias that makes ``sigmoid(bias) == prior_prob``."""
    return float(-math.log((1 - prior_prob) / prior_prob))


class ConvModule(nn.Module):
    """conv -> norm -> activation, with attributes ``conv``, ``bn``/``gn``, ``activate``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias='auto', conv_cfg=None, norm_cfg=None, act_cfg=dict(type='ReLU'),
                 inplace=True, order=('conv', 'norm', 'act')):
        super().__init__()
        self.order = tuple(order)
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        if bias == 'auto':
            bias = not self.with_norm
        self.with_bias = bias
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size, stride=stride,
                                     padding=padding, dilation=dilation, groups=groups, bias=bias)
        self.in_channels, self.out_channels = in_channels, out_channels
        if self.with_norm:
            norm_channels = out_channels if self.order.index('norm') > self.order.index('conv') else in_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)
        else:
            self.norm_name = None
        if self.with_activation:
            act_cfg = dict(act_cfg)
            if act_cfg['type'] in ('ReLU', 'LeakyReLU'):
                act_cfg.setdefault('inplace', inplace)
            self.activate = build_activation_layer(act_cfg)
        self.init_weights()

    @property
    def norm(self):
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self):
        if isinstance(self.conv, nn.Conv2d):
            kaiming_init(self.conv, a=0, nonlinearity='relu')
        if self.with_norm:
            constant_init(self.norm, 1, bias=0)

    def forward(self, x, activate=True, norm=True):
        for layer in self.order:
            if layer == 'conv':
                x = self.conv(x)
            elif layer == 'norm' and norm and self.with_norm:
                x = self.norm(x)
            elif layer == 'act' and activate and self.with_activation:
                x = self.activate(x)
        return x
