"""ResNet (He et al. 2016) with the MMDetection-2.x layout and options.

Bad arguments raise :class:`mmdet.utils.InvalidArgumentError` (a ``ValueError``
and an ``AssertionError``, as 2.x asserted them), naming the class, the
argument and the value; an unknown ``depth`` raises :class:`InvalidDepthError`,
which is also the ``KeyError`` 2.x raised.
"""
import numbers

import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.ops import build_conv_layer, build_norm_layer, constant_init, kaiming_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES
from ..utils.res_layer import ResLayer


STYLES = ('pytorch', 'caffe')


class InvalidDepthError(InvalidArgumentError, KeyError):
    """An unknown ResNet depth: the ``KeyError`` of 2.x, and an :class:`InvalidArgumentError`."""
    __str__ = Exception.__str__  # the plain message, not KeyError's repr of it


def is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_style(owner, style):
    if style not in STYLES:
        raise InvalidArgumentError(f"{owner} style must be 'pytorch' or 'caffe', got {style!r}")


def check_dcn(owner, dcn, conv_cfg, uses_dcn=True):
    """2.x: ``dcn`` is None or a dict, and ``conv_cfg`` must be None where the 3x3 conv is a DCN."""
    if dcn is not None and not isinstance(dcn, dict):
        raise InvalidArgumentError(f'{owner} dcn must be None or a dict, got {dcn!r}')
    if dcn is not None and uses_dcn and conv_cfg is not None:
        raise InvalidArgumentError(f'{owner} conv_cfg must be None for DCN, got conv_cfg={conv_cfg!r} with '
                                   f'dcn={dcn!r}')


def run_block(inner, x, with_cp):
    """``relu(inner(x))``, with ``inner`` recomputed in backward (to save memory) when ``with_cp``."""
    out = cp.checkpoint(inner, x, use_reentrant=False) if with_cp and x.requires_grad else inner(x)
    return F.relu(out, inplace=True)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None, style='pytorch',
                 with_cp=False, conv_cfg=None, norm_cfg=dict(type='BN'), dcn=None):
        super().__init__()
        if dcn is not None:
            raise InvalidArgumentError(f'{type(self).__name__} does not support DCN (ResNet-18/34), got dcn={dcn!r}')
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 3, stride=stride, padding=dilation,
                                      dilation=dilation, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    def forward(self, x):
        def inner(x):
            out = self.relu(getattr(self, self.norm1_name)(self.conv1(x)))
            out = getattr(self, self.norm2_name)(self.conv2(out))
            return out + (x if self.downsample is None else self.downsample(x))
        return run_block(inner, x, self.with_cp)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (optionally DCN/DCNv2) -> 1x1.  ``pytorch`` style strides the
    3x3 conv, ``caffe`` style the first 1x1."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None, style='pytorch',
                 with_cp=False, conv_cfg=None, norm_cfg=dict(type='BN'), dcn=None, groups=1, base_width=4,
                 base_channels=64):
        super().__init__()
        check_style(type(self).__name__, style)
        check_dcn(type(self).__name__, dcn, None)
        self.inplanes, self.planes = inplanes, planes
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        width = planes if groups == 1 else (planes * base_width // base_channels) * groups
        self.width = width
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, width, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1, stride=self.conv1_stride, bias=False)
        self.add_module(self.norm1_name, norm1)
        fallback_on_stride = dcn.get('fallback_on_stride', False) if dcn is not None else False
        conv2_cfg = dcn if dcn is not None and not (fallback_on_stride and self.conv2_stride > 1) else conv_cfg
        check_dcn(type(self).__name__, dcn, conv_cfg, uses_dcn=conv2_cfg is dcn)
        self.conv2 = build_conv_layer(conv2_cfg, width, width, 3, stride=self.conv2_stride, padding=dilation,
                                      dilation=dilation, groups=groups, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, width, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    def forward(self, x):
        def inner(x):
            out = self.relu(getattr(self, self.norm1_name)(self.conv1(x)))
            out = self.relu(getattr(self, self.norm2_name)(self.conv2(out)))
            out = getattr(self, self.norm3_name)(self.conv3(out))
            return out + (x if self.downsample is None else self.downsample(x))
        return run_block(inner, x, self.with_cp)


def make_res_layer(block, inplanes, planes, num_blocks, stride=1, dilation=1, avg_down=False,
                   conv_cfg=None, norm_cfg=dict(type='BN'), **block_kwargs):
    """One ResNet stage: a :class:`mmdet.models.utils.ResLayer` with ``dilation`` in every block.

    ``avg_down`` pools the shortcut only in strided stages (no ``AvgPool2d(1)``
    at stride 1), so the shortcut conv of a stride-1 stage stays at key
    ``downsample.0`` as this toolbox's ResNet has always had it.
    """
    return ResLayer(block, inplanes, planes, num_blocks, stride=stride, avg_down=avg_down and stride != 1,
                    conv_cfg=conv_cfg, norm_cfg=norm_cfg, dilation=dilation, **block_kwargs)


@BACKBONES.register_module()
class ResNet(nn.Module):
    """ResNet-18/34/50/101/152; returns the outputs of stages ``out_indices``.

    ``frozen_stages`` freezes the stem and the first k stages; ``norm_eval``
    keeps BN layers in eval mode during training; ``dcn`` + ``stage_with_dcn``
    put (modulated) deformable 3x3 convs into the chosen stages.
    """

    arch_settings = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
                     50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
                     152: (Bottleneck, (3, 8, 36, 3))}

    def __init__(self, depth, in_channels=3, stem_channels=None, base_channels=64, num_stages=4,
                 strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1), out_indices=(0, 1, 2, 3), style='pytorch',
                 deep_stem=False, avg_down=False, frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, dcn=None,
                 stage_with_dcn=(False, False, False, False), plugins=None, with_cp=False,
                 zero_init_residual=True, pretrained=None, init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise InvalidDepthError(f'invalid depth {depth!r} for {name} (choose from {sorted(self.arch_settings)})')
        if plugins:
            raise InvalidArgumentError(f'{name} plugins are not supported, got plugins={plugins!r}')
        if not (is_int(num_stages) and 1 <= num_stages <= 4):
            raise InvalidArgumentError(f'{name} num_stages must be an int in [1, 4], got {num_stages!r}')
        # 2.x asserts len(strides) == len(dilations) == num_stages; this toolbox also lets a shorter ResNet keep
        # the default 4-stage strides/dilations (only the first num_stages are used)
        for arg, value in (('strides', strides), ('dilations', dilations)):
            if not (isinstance(value, (list, tuple)) and all(is_int(v) and v > 0 for v in value)):
                raise InvalidArgumentError(f'{name} {arg} must be a list/tuple of positive ints, got {value!r}')
        if len(strides) != len(dilations) or len(strides) < num_stages:
            raise InvalidArgumentError(
                f'{name} strides and dilations need one entry per stage (num_stages={num_stages}), got '
                f'strides={strides!r} and dilations={dilations!r}')
        if not (isinstance(out_indices, (list, tuple)) and out_indices
                and all(is_int(i) and 0 <= i < num_stages for i in out_indices)):
            raise InvalidArgumentError(
                f'{name} out_indices must be a non-empty list/tuple of stage indices in [0, {num_stages}) '
                f'(num_stages={num_stages}), got {out_indices!r}')
        check_style(name, style)
        if not (is_int(frozen_stages) and -1 <= frozen_stages <= num_stages):
            raise InvalidArgumentError(f'{name} frozen_stages must be an int in [-1, {num_stages}] '
                                       f'(num_stages={num_stages}), got {frozen_stages!r}')
        if dcn is not None:
            check_dcn(name, dcn, None)
            if not isinstance(stage_with_dcn, (list, tuple)) or len(stage_with_dcn) != num_stages:
                raise InvalidArgumentError(
                    f'{name} stage_with_dcn must have one flag per stage (num_stages={num_stages}), '
                    f'got {stage_with_dcn!r}')
        self.depth, self.num_stages = depth, num_stages
        self.out_indices, self.style = out_indices, style
        self.deep_stem, self.avg_down = deep_stem, avg_down
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.zero_init_residual = zero_init_residual
        self.pretrained = pretrained if pretrained is not None else (init_cfg or {}).get('checkpoint')
        stem_channels = base_channels if stem_channels is None else stem_channels
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.inplanes = stem_channels
        self._make_stem_layer(in_channels, stem_channels)
        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2 ** i
            stage_dcn = dcn if dcn is not None and stage_with_dcn[i] else None
            res_layer = self.make_res_layer(
                block=self.block, inplanes=self.inplanes, planes=planes, num_blocks=num_blocks,
                stride=strides[i], dilation=dilations[i], avg_down=avg_down, style=style, with_cp=with_cp,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, dcn=stage_dcn)
            self.inplanes = planes * self.block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, res_layer)
            self.res_layers.append(name)
        self.feat_dim = self.block.expansion * base_channels * 2 ** (len(self.stage_blocks) - 1)
        self._freeze_stages()

    def make_res_layer(self, **kwargs):
        return make_res_layer(**kwargs)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def _make_stem_layer(self, in_channels, stem_channels):
        if self.deep_stem:
            c = stem_channels // 2
            self.stem = nn.Sequential(
                build_conv_layer(self.conv_cfg, in_channels, c, 3, stride=2, padding=1, bias=False),
                build_norm_layer(self.norm_cfg, c)[1], nn.ReLU(inplace=True),
                build_conv_layer(self.conv_cfg, c, c, 3, stride=1, padding=1, bias=False),
                build_norm_layer(self.norm_cfg, c)[1], nn.ReLU(inplace=True),
                build_conv_layer(self.conv_cfg, c, stem_channels, 3, stride=1, padding=1, bias=False),
                build_norm_layer(self.norm_cfg, stem_channels)[1], nn.ReLU(inplace=True))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 7, stride=2, padding=3,
                                          bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _freeze_stages(self):
        if self.frozen_stages >= 0:
            stem = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
            for m in stem:
                m.eval()
                for p in m.parameters():
                    p.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            m = getattr(self, f'layer{i}')
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def init_weights(self, pretrained=None):
        pretrained = pretrained if pretrained is not None else self.pretrained
        if isinstance(pretrained, dict):  # init_cfg=dict(type='Pretrained', checkpoint=...)
            pretrained = pretrained.get('checkpoint')
        if isinstance(pretrained, str):
            from mmdet.runner.checkpoint import load_checkpoint
            from mmdet.utils import get_root_logger
            load_checkpoint(self, pretrained, strict=False, logger=get_root_logger())
            return
        if pretrained is not None:
            raise TypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m)
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                constant_init(m, 1)
        if self.zero_init_residual:
            for m in self.modules():
                if hasattr(m, 'norm3_name'):  # Bottleneck and Res2Net's Bottle2neck
                    constant_init(getattr(m, m.norm3_name), 0)
                elif isinstance(m, BasicBlock):
                    constant_init(getattr(m, m.norm2_name), 0)

    def forward(self, x):
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


@BACKBONES.register_module()
class ResNetV1d(ResNet):
    """ResNet-D: deep stem and average-pool downsampling."""

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
