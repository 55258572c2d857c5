"""MobileNetV2 (Sandler et al. 2018) with the MMDetection-2.x layout.

``conv1`` (3x3, stride 2) -> ``layer1`` ... ``layer7`` (stacks of inverted
residual blocks) -> ``conv2`` (1x1 to 1280 channels).  Module names are 2.x's
(``layerN.i.{expand_conv,depthwise_conv,linear_conv}.{conv,bn}``), so
``open-mmlab://mmdet/mobilenet_v2`` loads with every key; the MMClassification
checkpoint ``mmcls://mobilenet_v2`` (``layerN.i.conv.{0,1,2}``) is renamed on loading.
"""
import re
from collections import OrderedDict

import torch.nn as nn
import torch.utils.checkpoint as cp
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.ops import ConvModule, constant_init, kaiming_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES
from .resnet import is_int
from .timm_backbone import find_local_pretrained, load_weights

# pretrained names -> the stems of their files (mmcv's open_mmlab.json / mmcls.json)
MOBILENET_V2_CHECKPOINTS = {'open-mmlab://mmdet/mobilenet_v2': 'mobilenet_v2_batch256_imagenet',
                            'mmcls://mobilenet_v2': 'mobilenet_v2_batch256_imagenet_20200708'}


def make_divisible(value, divisor, min_value=None, min_ratio=0.9):
    """The multiple of ``divisor`` nearest to ``value`` (at least ``min_value``,
    default ``divisor``), raised by ``divisor`` if rounding lost more than
    ``1 - min_ratio`` of it (2.x's ``mmdet.models.utils.make_divisible``)."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return new_value + divisor if new_value < min_ratio * value else new_value


class _ConvModule(ConvModule):
    """:class:`mmdet.ops.ConvModule` that also knows ``act_cfg=dict(type='ReLU6')``
    (MobileNetV2's activation); no parameters of its own."""

    def __init__(self, *args, act_cfg=dict(type='ReLU6'), **kwargs):
        relu6 = act_cfg is not None and act_cfg.get('type') == 'ReLU6'
        super().__init__(*args, act_cfg=None if relu6 else act_cfg, **kwargs)
        if relu6:
            self.with_activation = True
            self.activate = nn.ReLU6(inplace=act_cfg.get('inplace', True))


class InvertedResidual(nn.Module):
    """[``expand_conv`` 1x1] -> ``depthwise_conv`` kxk (stride) -> ``linear_conv`` 1x1
    (no activation), plus the input when the shape is kept.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        mid_channels (int): width of the depthwise conv (``in_channels`` without expand conv).
        kernel_size (int): of the depthwise conv. Default 3.
        stride (int): 1 or 2.
        with_expand_conv (bool): whether the 1x1 expansion exists. Default True.
        conv_cfg, norm_cfg, act_cfg: of the ConvModules (``act_cfg`` not on ``linear_conv``).
        with_cp (bool): recompute the block in backward to save memory.

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels, out_channels, mid_channels, kernel_size=3, stride=1, with_expand_conv=True,
                 conv_cfg=None, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6'), with_cp=False):
        super().__init__()
        if stride not in (1, 2):
            raise InvalidArgumentError(f'InvertedResidual stride must be 1 or 2, got {stride!r}')
        if not with_expand_conv and mid_channels != in_channels:
            raise InvalidArgumentError(f'InvertedResidual without expand conv needs mid_channels == in_channels, '
                                       f'got {mid_channels} and {in_channels}')
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_expand_conv, self.with_cp = with_expand_conv, with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if with_expand_conv:
            self.expand_conv = _ConvModule(in_channels, mid_channels, 1, act_cfg=act_cfg, **common)
        self.depthwise_conv = _ConvModule(mid_channels, mid_channels, kernel_size, stride=stride,
                                          padding=kernel_size // 2, groups=mid_channels, act_cfg=act_cfg, **common)
        self.linear_conv = _ConvModule(mid_channels, out_channels, 1, act_cfg=None, **common)

    def forward(self, x):
        def inner(x):
            out = self.expand_conv(x) if self.with_expand_conv else x
            out = self.linear_conv(self.depthwise_conv(out))
            return x + out if self.with_res_shortcut else out
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(inner, x, use_reentrant=False)
        return inner(x)


def convert_mmcls_mobilenet_v2(state_dict):
    """Rename an MMClassification MobileNetV2 state dict (``layerN.i.conv.{0,1,2}``,
    the expansion conv absent in ``layer1``) to this layout (``expand_conv``,
    ``depthwise_conv``, ``linear_conv``); other keys are kept."""
    pattern = re.compile(r'^(layer(\d+)\.\d+)\.conv\.(\d+)\.(.*)$')
    names = {True: ('expand_conv', 'depthwise_conv', 'linear_conv'), False: ('depthwise_conv', 'linear_conv')}
    out = OrderedDict()
    for k, v in state_dict.items():
        m = pattern.match(k)
        if m:
            with_expand = m.group(2) != '1'  # layer1 has expand_ratio 1
            k = f'{m.group(1)}.{names[with_expand][int(m.group(3))]}.{m.group(4)}'
        out[k] = v
    return out


@BACKBONES.register_module()
class MobileNetV2(nn.Module):
    """MobileNetV2; returns the outputs of ``out_indices`` among
    ``[layer1, ..., layer7, conv2]`` (indices 0..7).

    Args:
        widen_factor (float): channel multiplier (channels rounded by :func:`make_divisible`
            to multiples of 8; ``conv2`` keeps 1280 unless ``widen_factor > 1``). Default 1.
        out_indices (Sequence[int]): Default (1, 2, 4, 7): strides 4, 8, 16, 32 with
            24, 32, 96, 1280 channels.
        frozen_stages (int): -1 (none), 0 (``conv1``) or k: ``conv1`` and ``layer1..k``
            keep their weights and stay in eval mode. Range [-1, 7].
        conv_cfg (dict | None), norm_cfg (dict), act_cfg (dict): of all ConvModules.
            Default BN and ReLU6.
        norm_eval (bool): keep BN layers in eval mode during training. Default False.
        with_cp (bool): recompute blocks in backward to save memory. Default False.
        pretrained (str | None): a local file, ``open-mmlab://mmdet/mobilenet_v2`` or
            ``mmcls://mobilenet_v2`` (found only in the local torch hub cache).
        init_cfg (dict | None): ``dict(type='Pretrained', checkpoint=...)`` is the same as ``pretrained``.

    Shapes: (N, 3, H, W) -> one (N, C_i, H / s_i, W / s_i) per out index, strides
    s = (2, 4, 8, 16, 16, 32, 32, 32) for indices 0..7.
    """

    # expand ratio, channels, blocks, stride of the first block, per layer
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                     [6, 320, 1, 1]]
    strides = (2, 4, 8, 16, 16, 32, 32, 32)

    def __init__(self, widen_factor=1., out_indices=(1, 2, 4, 7), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6'), norm_eval=False, with_cp=False,
                 pretrained=None, init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if not (isinstance(widen_factor, (int, float)) and not isinstance(widen_factor, bool) and widen_factor > 0):
            raise InvalidArgumentError(f'{name} widen_factor must be a positive number, got {widen_factor!r}')
        if not (isinstance(out_indices, (list, tuple)) and out_indices
                and all(is_int(i) and 0 <= i < 8 for i in out_indices)):
            raise InvalidArgumentError(f'{name} out_indices must be a non-empty list/tuple of indices in [0, 8), '
                                       f'got {out_indices!r}')
        if not (is_int(frozen_stages) and -1 <= frozen_stages <= 7):
            raise InvalidArgumentError(f'{name} frozen_stages must be an int in [-1, 7], got {frozen_stages!r}')
        if pretrained is not None and init_cfg is not None:
            raise InvalidArgumentError(f'{name}: give pretrained or init_cfg, not both')
        self.widen_factor, self.out_indices, self.frozen_stages = widen_factor, tuple(out_indices), frozen_stages
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.pretrained = pretrained if pretrained is not None else (init_cfg or {}).get('checkpoint')

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = _ConvModule(3, self.in_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                 act_cfg=act_cfg)
        self.layers = []
        channels = []
        for i, (expand_ratio, c, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(c * widen_factor, 8)
            self.add_module(f'layer{i + 1}', self.make_layer(out_channels, num_blocks, stride, expand_ratio))
            self.layers.append(f'layer{i + 1}')
            channels.append(out_channels)
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = _ConvModule(self.in_channels, self.out_channel, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                 act_cfg=act_cfg)
        self.layers.append('conv2')
        channels.append(self.out_channel)
        self.out_channels = [channels[i] for i in self.out_indices]
        self.out_strides = [self.strides[i] for i in self.out_indices]
        self._freeze_stages()

    def make_layer(self, out_channels, num_blocks, stride, expand_ratio):
        """``num_blocks`` inverted residual blocks (the first with ``stride``) in an ``nn.Sequential``."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(InvertedResidual(
                self.in_channels, out_channels, mid_channels=int(round(self.in_channels * expand_ratio)),
                stride=stride if i == 0 else 1, with_expand_conv=expand_ratio != 1, conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, with_cp=self.with_cp))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    def _freeze_stages(self):
        frozen = ([self.conv1] if self.frozen_stages >= 0 else []) + \
            [getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)]
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def init_weights(self, pretrained=None):
        """Kaiming convs and unit BN (2.x), or the weights of ``pretrained`` / ``self.pretrained``."""
        pretrained = pretrained if pretrained is not None else self.pretrained
        if isinstance(pretrained, dict):
            pretrained = pretrained.get('checkpoint')
        if isinstance(pretrained, str):
            path = find_local_pretrained(pretrained, MOBILENET_V2_CHECKPOINTS, owner=type(self).__name__)
            load_weights(self, path, convert=convert_mmcls_mobilenet_v2, owner=type(self).__name__)
            return
        if pretrained is not None:
            raise TypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m)
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                constant_init(m, 1)

    def forward(self, x):
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
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
