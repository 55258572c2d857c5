"""ResNeSt (Zhang et al. 2020, "ResNeSt: Split-Attention Networks") with the MMDetection-2.x layout.

A ResNet-D (deep stem, average-pool shortcuts) whose bottleneck 3x3 conv is a
split-attention conv: ``radix`` parallel grouped convs whose outputs are mixed
by a softmax attention computed from their global-average-pooled sum.

Module names are 2.x's (``stem.{0,1,3,4,6,7}``, ``layerN.i.conv2.{conv,bn0,fc1,
bn1,fc2}``, ``layerN.0.downsample.{1,2}`` after the ``AvgPool2d`` at index 0 in
every stage, ``avd_layer`` without parameters), so the 2.x ImageNet checkpoints
(``open-mmlab://resnest50`` / ``resnest101`` / ``resnest200``) load with every
backbone key present.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet.ops import build_conv_layer, build_norm_layer
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES
from ..utils.res_layer import ResLayer
from .resnet import ResNet, check_style, is_int, run_block
from .timm_backbone import find_local_pretrained

# 2.x's ``open-mmlab://resnest*`` names -> the stems of their files (mmcv's open_mmlab.json)
RESNEST_CHECKPOINTS = {f'open-mmlab://resnest{d}': f'resnest{d}_d2' for d in (50, 101, 200)}


class RSoftmax(nn.Module):
    """The attention's normalisation: a softmax over the ``radix`` splits of
    each cardinal group (a sigmoid when ``radix == 1``).

    Shapes: (N, radix * groups * C', 1, 1) (radix-major channels) -> (N, radix * groups * C').
    """

    def __init__(self, radix, groups):
        super().__init__()
        self.radix, self.groups = radix, groups

    def forward(self, x):
        n = x.size(0)
        if self.radix == 1:
            return torch.sigmoid(x).reshape(n, -1)
        # channels come radix-major; the softmax runs over the radix splits of each group
        x = x.view(n, self.groups, self.radix, -1).transpose(1, 2)
        return F.softmax(x, dim=1).reshape(n, -1)


class SplitAttentionConv2d(nn.Module):
    """Split-attention conv: ``conv`` (``radix * groups`` groups) -> ``bn0`` -> ReLU
    gives ``radix`` splits of ``channels`` each; their sum is pooled, passed
    through ``fc1`` -> ``bn1`` -> ReLU -> ``fc2`` and normalised (:class:`RSoftmax`)
    into one weight per split and channel; the output is the weighted sum of the splits.

    Args:
        in_channels (int): C_in.
        channels (int): C_out (each split's width).
        kernel_size, stride, padding, dilation: of ``conv``.
        groups (int): cardinality. Default 1.
        radix (int): number of splits. Default 2.
        reduction_factor (int): ``fc1`` has ``max(in_channels * radix // reduction_factor, 32)``
            channels. Default 4.
        conv_cfg (dict | None): config of ``conv`` (``None``: Conv2d).
        norm_cfg (dict): config of ``bn0`` / ``bn1``. Default BN.
        dcn (dict | None): a DCN config for ``conv``; as 2.x, ``fallback_on_stride=True``
            in it keeps a plain conv.

    Shapes: (N, C_in, H, W) -> (N, C_out, H', W') with H' = (H + 2 * padding
    - dilation * (kernel_size - 1) - 1) // stride + 1.
    """

    def __init__(self, in_channels, channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, radix=2,
                 reduction_factor=4, conv_cfg=None, norm_cfg=dict(type='BN'), dcn=None):
        super().__init__()
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        self.radix, self.groups, self.channels = radix, groups, channels
        if dcn is not None and not dcn.get('fallback_on_stride', False):
            if conv_cfg is not None:
                raise InvalidArgumentError(f'SplitAttentionConv2d conv_cfg must be None for DCN, got '
                                           f'conv_cfg={conv_cfg!r} with dcn={dcn!r}')
            conv_cfg = dcn
        self.with_dcn = dcn is not None
        self.conv = build_conv_layer(conv_cfg, in_channels, channels * radix, kernel_size, stride=stride,
                                     padding=padding, dilation=dilation, groups=groups * radix, bias=False)
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = build_conv_layer(None, channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = build_conv_layer(None, inter_channels, channels * radix, 1, groups=groups)
        self.rsoftmax = RSoftmax(radix, groups)

    @property
    def norm0(self):
        return getattr(self, self.norm0_name)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def forward(self, x):
        x = self.relu(self.norm0(self.conv(x)))
        n = x.size(0)
        if self.radix > 1:
            splits = x.view(n, self.radix, -1, *x.shape[2:])  # (N, radix, C, H, W)
            gap = splits.sum(dim=1)
        else:
            splits, gap = None, x
        gap = self.relu(self.norm1(self.fc1(F.adaptive_avg_pool2d(gap, 1))))
        atten = self.rsoftmax(self.fc2(gap))  # (N, radix * C)
        if self.radix > 1:
            out = (atten.view(n, self.radix, -1, 1, 1) * splits).sum(dim=1)
        else:
            out = atten.view(n, -1, 1, 1) * x
        return out.contiguous()


class Bottleneck(nn.Module):
    """ResNeSt bottleneck: 1x1 -> :class:`SplitAttentionConv2d` -> [3x3 average pool
    (``avg_down_stride``, strided blocks)] -> 1x1, plus the shortcut.

    Args:
        inplanes (int): C_in.
        planes (int): the output has ``planes * 4`` channels.
        stride (int): stride of the block (on the 3x3 conv, or on ``avd_layer``
            when ``avg_down_stride``; on the first 1x1 for ``style='caffe'``).
        groups (int), base_width (int), base_channels (int): width of the 3x3 conv:
            ``planes`` when ``groups == 1``, else ``planes * base_width // base_channels * groups``.
        radix (int), reduction_factor (int): of the split-attention conv.
        avg_down_stride (bool): stride by a 3x3 average pool after the split-attention
            conv instead of in it. Default True.
        Others as :class:`mmdet.models.backbones.resnet.Bottleneck`.

    Shapes: (N, C_in, H, W) -> (N, 4 * planes, ceil(H / stride), ceil(W / stride)).
    """
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None, style='pytorch', with_cp=False,
                 conv_cfg=None, norm_cfg=dict(type='BN'), dcn=None, groups=1, base_width=4, base_channels=64,
                 radix=2, reduction_factor=4, avg_down_stride=True):
        super().__init__()
        check_style(type(self).__name__, style)
        self.inplanes, self.planes = inplanes, planes
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        width = planes if groups == 1 else planes * base_width // base_channels * groups
        self.avg_down_stride = avg_down_stride and self.conv2_stride > 1
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1, stride=self.conv1_stride, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = SplitAttentionConv2d(
            width, width, 3, stride=1 if self.avg_down_stride else self.conv2_stride, padding=dilation,
            dilation=dilation, groups=groups, radix=radix, reduction_factor=reduction_factor, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, dcn=dcn)
        if self.avg_down_stride:
            self.avd_layer = nn.AvgPool2d(3, self.conv2_stride, padding=1)
        self.conv3 = build_conv_layer(conv_cfg, width, planes * self.expansion, 1, bias=False)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm3(self):
        return getattr(self, self.norm3_name)

    def forward(self, x):
        def inner(x):
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.conv2(out)
            if self.avg_down_stride:
                out = self.avd_layer(out)
            out = self.norm3(self.conv3(out))
            return out + (x if self.downsample is None else self.downsample(x))
        return run_block(inner, x, self.with_cp)


@BACKBONES.register_module()
class ResNeSt(ResNet):
    """ResNeSt-50/101/152/200: ResNet-D (deep stem, average-pool shortcuts in every
    stage, as 2.x's ``ResNetV1d``) with split-attention bottlenecks.

    Args:
        groups (int): cardinality of the 3x3 convs. Default 1.
        base_width (int): width per group when ``groups > 1``. Default 4.
        radix (int): splits of the split-attention conv. Default 2.
        reduction_factor (int): reduction of its attention's hidden width. Default 4.
        avg_down_stride (bool): strided blocks pool after the split-attention conv
            instead of striding it. Default True.
        **kwargs: as :class:`mmdet.models.backbones.resnet.ResNet` (``depth``,
            ``stem_channels`` — 64 for ResNeSt-50, 128 for 101/200 in the 2.x
            configs —, ``out_indices``, ``frozen_stages``, ``norm_cfg``, ``norm_eval``,
            ``dcn``/``stage_with_dcn``, ``with_cp``, ``pretrained``, ...).
            ``deep_stem`` and ``avg_down`` are always on.

    ``pretrained`` (here or given to :meth:`init_weights`): a local file, or
    ``open-mmlab://resnest50`` (``resnest101``, ``resnest200``) found only in the
    local torch hub cache (``$TORCH_HOME/hub/checkpoints/resnest50_d2-*.pth``).

    Shapes: (N, 3, H, W) -> per ``out_indices`` stage i: (N, 256 * 2**i, H / 2**(i+2), W / 2**(i+2)).
    """

    arch_settings = {50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
                     152: (Bottleneck, (3, 8, 36, 3)), 200: (Bottleneck, (3, 24, 36, 3))}

    def __init__(self, groups=1, base_width=4, radix=2, reduction_factor=4, avg_down_stride=True, **kwargs):
        name = type(self).__name__
        for arg, value in (('groups', groups), ('base_width', base_width), ('radix', radix),
                           ('reduction_factor', reduction_factor)):
            if not (is_int(value) and value > 0):
                raise InvalidArgumentError(f'{name} {arg} must be a positive int, got {value!r}')
        for arg in ('deep_stem', 'avg_down'):
            if kwargs.pop(arg, True) is not True:
                raise InvalidArgumentError(f'{name} always has {arg}=True (ResNet-D), got {arg}=False')
        self.groups, self.base_width = groups, base_width
        self.radix, self.reduction_factor, self.avg_down_stride = radix, reduction_factor, avg_down_stride
        self._base_channels = kwargs.get('base_channels', 64)
        super().__init__(deep_stem=True, avg_down=True, **kwargs)

    def make_res_layer(self, avg_down, **kwargs):
        # 2.x: the shortcut's AvgPool2d is in every stage (a no-op at stride 1), so its conv is downsample.1
        return ResLayer(avg_down=avg_down, groups=self.groups, base_width=self.base_width,
                        base_channels=self._base_channels, radix=self.radix, reduction_factor=self.reduction_factor,
                        avg_down_stride=self.avg_down_stride, **kwargs)

    def init_weights(self, pretrained=None):
        """Random init (2.x's ResNet init) or the weights of ``pretrained`` / ``self.pretrained``."""
        pretrained = pretrained if pretrained is not None else self.pretrained
        if isinstance(pretrained, dict):
            pretrained = pretrained.get('checkpoint')
        if isinstance(pretrained, str):
            pretrained = find_local_pretrained(pretrained, RESNEST_CHECKPOINTS, owner=type(self).__name__)
        super().init_weights(pretrained)
