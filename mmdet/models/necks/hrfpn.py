"""HRFPN (Sun et al. 2019): the HRNetV2p feature pyramid, with the MMDetection-2.x layout.

All input branches are upsampled (bilinear) to the first one's resolution,
concatenated and reduced by a 1x1 conv (``reduction_conv``); the pyramid is
that map pooled by 1, 2, 4, ... (average or max), each level through a 3x3
conv (``fpn_convs.{i}``).  With ``stride=2`` (the FCOS configs) the 3x3 convs
halve every level, so HRNet's stride-4 branch gives levels of strides 8 ... 128.
"""
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from mmdet.ops import ConvModule, kaiming_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import NECKS
from .fpn import check_inputs

POOLING_TYPES = ('MAX', 'AVG')


@NECKS.register_module()
class HRFPN(nn.Module):
    """High-Resolution Feature Pyramid.

    Args:
        in_channels (list[int]): channels of each input branch (highest resolution first).
        out_channels (int): channels of every output level.
        num_outs (int): number of output levels. Default 5.
        pooling_type (str): ``'AVG'`` (default) or ``'MAX'`` pooling for the coarser levels.
        conv_cfg (dict | None): conv layer config.
        norm_cfg (dict | None): accepted for 2.x compatibility; as in 2.x, no norm
            layer is built (the convs keep their biases), and a warning says so.
        with_cp (bool): gradient checkpointing of the convs.
        stride (int): stride of the 3x3 output convs. Default 1.

    Shapes: list of (N, in_channels[i], H / 2^i, W / 2^i) -> tuple of ``num_outs``
    (N, out_channels, H / (2^l * stride), W / (2^l * stride)), l = 0..num_outs-1 (rounded down
    by the pooling, up by the strided convs).
    """

    def __init__(self, in_channels, out_channels, num_outs=5, pooling_type='AVG', conv_cfg=None, norm_cfg=None,
                 with_cp=False, stride=1, init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if not (isinstance(in_channels, (list, tuple)) and in_channels
                and all(isinstance(c, int) and c > 0 for c in in_channels)):
            raise InvalidArgumentError(f'{name} in_channels must be a non-empty list of positive ints, '
                                       f'got {in_channels!r}')
        if not (isinstance(num_outs, int) and num_outs > 0):
            raise InvalidArgumentError(f'{name} num_outs must be a positive int, got {num_outs!r}')
        if pooling_type not in POOLING_TYPES:
            # 2.x fell back to average pooling for anything but 'MAX'; a typo should not pass silently
            raise InvalidArgumentError(f'{name} pooling_type must be one of {POOLING_TYPES}, got {pooling_type!r}')
        if norm_cfg is not None:
            warnings.warn(f'{name} builds no norm layers (as MMDetection 2.x): norm_cfg={norm_cfg!r} is ignored')
        self.in_channels, self.out_channels = list(in_channels), out_channels
        self.num_ins, self.num_outs = len(in_channels), num_outs
        self.with_cp, self.conv_cfg, self.norm_cfg = with_cp, conv_cfg, norm_cfg
        self.pooling_type = pooling_type
        self.reduction_conv = ConvModule(sum(in_channels), out_channels, 1, conv_cfg=conv_cfg, act_cfg=None)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, stride=stride, conv_cfg=conv_cfg, act_cfg=None)
            for _ in range(num_outs))
        self.pooling = F.max_pool2d if pooling_type == 'MAX' else F.avg_pool2d

    def init_weights(self):
        """Caffe2's Xavier (kaiming-uniform with a=1, fan-in) for every conv, zero biases."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m, a=1, mode='fan_in', nonlinearity='leaky_relu', distribution='uniform')

    def _run(self, module, x):
        return cp.checkpoint(module, x, use_reentrant=False) if self.with_cp and x.requires_grad else module(x)

    def forward(self, inputs):
        """``inputs``: the HRNet branches (N, C_i, H_i, W_i), highest resolution first."""
        check_inputs(self, inputs)
        size = inputs[0].shape[-2:]
        # bilinear upsampling by 2^i (to the first branch's exact size, so odd input sizes work too)
        x = torch.cat([inputs[0]] + [F.interpolate(t, size=size, mode='bilinear', align_corners=False)
                                     for t in inputs[1:]], dim=1)
        x = self._run(self.reduction_conv, x)
        levels = [x] + [self.pooling(x, kernel_size=2 ** i, stride=2 ** i) for i in range(1, self.num_outs)]
        return tuple(self._run(conv, level) for conv, level in zip(self.fpn_convs, levels))
