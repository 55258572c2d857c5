"""Path Aggregation FPN (Liu et al. 2018) and VFNet-X's PAFPNX."""
import torch.nn as nn

from mmdet.ops import ConvModule

from ..builder import NECKS
from .fpn import FPN, check_inputs


@NECKS.register_module()
class PAFPN(FPN):
    """FPN plus a bottom-up path: level i+1 += stride-2 conv(level i), then a
    3x3 conv on every level but the lowest (which passes through)."""

    def __init__(self, in_channels, out_channels, num_outs, start_level=0, end_level=-1, add_extra_convs=False,
                 extra_convs_on_inputs=True, relu_before_extra_convs=False, no_norm_on_lateral=False,
                 conv_cfg=None, norm_cfg=None, act_cfg=None, init_cfg=None):
        super().__init__(in_channels, out_channels, num_outs, start_level, end_level, add_extra_convs,
                         extra_convs_on_inputs, relu_before_extra_convs, no_norm_on_lateral, conv_cfg, norm_cfg,
                         act_cfg)
        conv = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False)
        self.downsample_convs = nn.ModuleList(
            [ConvModule(out_channels, out_channels, 3, stride=2, padding=1, **conv)
             for _ in range(self.start_level + 1, self.backbone_end_level)])
        self.pafpn_convs = nn.ModuleList(
            [ConvModule(out_channels, out_channels, 3, padding=1, **conv)
             for _ in range(self._first_pafpn_level(), self.backbone_end_level)])

    def _first_pafpn_level(self):
        return self.start_level + 1

    def bottom_up(self, laterals):
        inter = [self.fpn_convs[i](laterals[i]) for i in range(len(laterals))]
        for i in range(len(inter) - 1):
            inter[i + 1] = inter[i + 1] + self.downsample_convs[i](inter[i])
        return inter

    def forward(self, inputs):
        check_inputs(self, inputs)
        laterals = self.top_down(inputs)
        inter = self.bottom_up(laterals)
        outs = [inter[0]] + [self.pafpn_convs[i - 1](inter[i]) for i in range(1, len(inter))]
        return tuple(self.extra_levels(inputs, laterals, outs))


@NECKS.register_module()
class PAFPNX(PAFPN):
    """VFNet-X's PAFPN: a ``pafpn_conv`` on every level (the lowest too), and a
    separate ``pafpn_conv_cfg`` (e.g. DCNv2) for those convs only."""

    def __init__(self, in_channels, out_channels, num_outs, start_level=0, end_level=-1, add_extra_convs=False,
                 extra_convs_on_inputs=True, relu_before_extra_convs=False, no_norm_on_lateral=False,
                 conv_cfg=None, norm_cfg=None, act_cfg=None, pafpn_conv_cfg=None, init_cfg=None):
        self._pafpn_conv_cfg = pafpn_conv_cfg
        super().__init__(in_channels, out_channels, num_outs, start_level, end_level, add_extra_convs,
                         extra_convs_on_inputs, relu_before_extra_convs, no_norm_on_lateral, conv_cfg, norm_cfg,
                         act_cfg)
        if pafpn_conv_cfg is not None:
            self.pafpn_convs = nn.ModuleList(
                [ConvModule(out_channels, out_channels, 3, padding=1, conv_cfg=pafpn_conv_cfg, norm_cfg=norm_cfg,
                            act_cfg=act_cfg, inplace=False)
                 for _ in range(self._first_pafpn_level(), self.backbone_end_level)])

    def _first_pafpn_level(self):
        return self.start_level

    def forward(self, inputs):
        check_inputs(self, inputs)
        laterals = self.top_down(inputs)
        inter = self.bottom_up(laterals)
        outs = [self.pafpn_convs[i](inter[i]) for i in range(len(inter))]
        return tuple(self.extra_levels(inputs, laterals, outs))
