"""NAS-FPN (Ghiasi et al., CVPR 2019): the searched feature pyramid, as MMDetection 2.x's.

C3..C5 go through 1x1 lateral convs (with ``norm_cfg``, no activation) to
P3..P5; P6 and P7 are each a 1x1 conv + 2x2 max-pool of the level below.
Then ``stack_times`` identical stages each rewire P3..P7 through the searched
merging cells (names ``<op>_<inputs>_<output level>``, as the original
checkpoints)::

    p4_1 = gp_64_4 (p6,   p4)          p4_2 = sum_44_4(p4_1, p4)
    p3   = sum_43_3(p4_2, p3)          p4   = sum_34_4(p3,   p4_2)
    p5   = sum_55_5(p5,   gp_43_5(p4, p3))
    p7   = sum_77_7(p7,   gp_54_7(p5, p4_2))
    p6   = gp_75_6 (p7,   p5)

A cell resizes both inputs to the output level's size (nearest upsampling, or
max-pooling by the integer ratio), merges them (``sum``: ``x1 + x2``;
``gp``, global pooling: ``x2 + sigmoid(avgpool(x2)) * x1``) and, except the two
inner ``gp`` cells, applies ``out_conv``: ReLU -> 3x3 conv (with bias) -> norm.

Every level must be exactly half the one below (P7 = P3 / 16): pad the image
to a multiple of 128 (the test pipelines use ``Pad(size_divisor=128)``).
"""
import torch.nn as nn
import torch.nn.functional as F

from mmdet.ops import ConvModule
from mmdet.utils.errors import InvalidArgumentError

from ..builder import NECKS
from .fpn import check_inputs
from .nasfcos_fpn import caffe2_xavier_init


def resize_to(x, size, upsample_mode='nearest'):
    """Resize (N, C, H, W) ``x`` to ``size`` (h, w) as mmcv's merging cells do.

    Equal: ``x``; smaller (the ``(H, W)`` tuple compares below ``size``):
    interpolated; larger: max-pooled with a square kernel of the width ratio,
    which must divide both sides.
    """
    size = tuple(int(s) for s in size)
    have = tuple(x.shape[-2:])
    if have == size:
        return x
    if have < size:
        return F.interpolate(x, size=size, mode=upsample_mode)
    if have[0] % size[0] or have[1] % size[1]:
        raise InvalidArgumentError(
            f'NAS-FPN cannot max-pool a {have} feature map down to {size}: each level must be exactly half the '
            f'one below (pad the input to a multiple of 128, e.g. Pad(size_divisor=128))')
    k = have[1] // size[1]
    return F.max_pool2d(x, kernel_size=k, stride=k)


class SumCell(nn.Module):
    """``out_conv(resize(x1) + resize(x2))``; ``out_conv``: ReLU -> 3x3 conv (bias) -> norm."""

    def __init__(self, channels, norm_cfg=None, with_out_conv=True, upsample_mode='nearest'):
        super().__init__()
        if upsample_mode not in ('nearest', 'bilinear'):
            raise InvalidArgumentError(f"{type(self).__name__} upsample_mode must be 'nearest' or 'bilinear', "
                                       f'got {upsample_mode!r}')
        self.upsample_mode, self.with_out_conv = upsample_mode, with_out_conv
        if with_out_conv:
            self.out_conv = ConvModule(channels, channels, 3, padding=1, bias=True, norm_cfg=norm_cfg,
                                       order=('act', 'conv', 'norm'), inplace=False)

    def merge(self, x1, x2):
        return x1 + x2

    def forward(self, x1, x2, out_size=None):
        """``x1``, ``x2``: (N, C, H_i, W_i) -> (N, C, *out_size) (default: the larger size)."""
        if x1.shape[:2] != x2.shape[:2]:
            raise InvalidArgumentError(f'{type(self).__name__} inputs differ in batch or channels: '
                                       f'{tuple(x1.shape)} and {tuple(x2.shape)}')
        if out_size is None:
            out_size = max(tuple(x1.shape[-2:]), tuple(x2.shape[-2:]))
        x = self.merge(resize_to(x1, out_size, self.upsample_mode), resize_to(x2, out_size, self.upsample_mode))
        return self.out_conv(x) if self.with_out_conv else x


class GlobalPoolingCell(SumCell):
    """``x2 + sigmoid(global_avg_pool(x2)) * x1`` (both resized), then ``out_conv`` if any."""

    def __init__(self, channels=None, norm_cfg=None, with_out_conv=True, upsample_mode='nearest'):
        if with_out_conv and channels is None:
            raise InvalidArgumentError('GlobalPoolingCell with_out_conv=True needs channels')
        super().__init__(channels, norm_cfg, with_out_conv, upsample_mode)
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))

    def merge(self, x1, x2):
        return x2 + self.global_pool(x2).sigmoid() * x1


# (cell name, global pooling?, with out_conv?), in order of evaluation within a stage
NASFPN_CELLS = (('gp_64_4', True, True), ('sum_44_4', False, True), ('sum_43_3', False, True),
                ('sum_34_4', False, True), ('gp_43_5', True, False), ('sum_55_5', False, True),
                ('gp_54_7', True, False), ('sum_77_7', False, True), ('gp_75_6', True, True))


@NECKS.register_module()
class NASFPN(nn.Module):
    """NAS-FPN neck.

    Args:
        in_channels (list[int]): channels of the backbone outputs.
        out_channels (int): channels of every level.
        num_outs (int): output levels; must be 5 (P3..P7).
        stack_times (int): number of stacked NAS-FPN stages.
        start_level (int): first backbone output used (1: C3 of a ResNet).
        end_level (int): last backbone output used, exclusive (-1: all).
        add_extra_convs: accepted for 2.x configs, unused (P6/P7 are always
            conv + max-pool).
        norm_cfg (dict | None): norm of every conv.

    Forward: the backbone outputs -> a tuple of 5 maps (N, out_channels, H_l, W_l), P3 first.
    """

    def __init__(self, in_channels, out_channels, num_outs, stack_times, start_level=0, end_level=-1,
                 add_extra_convs=False, norm_cfg=None, init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(in_channels, (list, tuple)) or not in_channels:
            raise InvalidArgumentError(f'{name} in_channels must be a non-empty list, got {in_channels!r}')
        if not (isinstance(stack_times, int) and not isinstance(stack_times, bool) and stack_times >= 0):
            raise InvalidArgumentError(f'{name} stack_times must be an int >= 0, got {stack_times!r}')
        self.in_channels, self.out_channels = list(in_channels), out_channels
        self.num_ins, self.num_outs, self.stack_times = len(in_channels), num_outs, stack_times
        self.norm_cfg = norm_cfg
        if end_level == -1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise InvalidArgumentError(f'{name} num_outs={num_outs} is fewer than the '
                                           f'{self.num_ins - start_level} inputs used')
        else:
            if not (start_level < end_level <= self.num_ins and num_outs == end_level - start_level):
                raise InvalidArgumentError(f'{name} end_level={end_level} needs end_level <= {self.num_ins} and '
                                           f'num_outs == end_level - start_level, got num_outs={num_outs}')
            self.backbone_end_level = end_level
        if num_outs != 5:
            raise InvalidArgumentError(f'{name} builds P3..P7: num_outs must be 5, got {num_outs!r}')
        self.start_level, self.end_level = start_level, end_level
        self.add_extra_convs = add_extra_convs

        self.lateral_convs = nn.ModuleList([
            ConvModule(in_channels[i], out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for i in range(start_level, self.backbone_end_level)])
        extra_levels = num_outs - self.backbone_end_level + start_level
        self.extra_downsamples = nn.ModuleList([
            nn.Sequential(ConvModule(out_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None),
                          nn.MaxPool2d(2, 2))
            for _ in range(extra_levels)])
        self.fpn_stages = nn.ModuleList()
        for _ in range(stack_times):
            self.fpn_stages.append(nn.ModuleDict({
                cell: (GlobalPoolingCell if gp else SumCell)(out_channels if conv else None, norm_cfg=norm_cfg,
                                                             with_out_conv=conv)
                for cell, gp, conv in NASFPN_CELLS}))

    def init_weights(self):
        """Caffe2 Xavier on every conv (as 2.x)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                caffe2_xavier_init(m)

    def forward(self, inputs):
        check_inputs(self, inputs)
        feats = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for downsample in self.extra_downsamples:
            feats.append(downsample(feats[-1]))
        p3, p4, p5, p6, p7 = feats
        for stage in self.fpn_stages:
            p4_1 = stage['gp_64_4'](p6, p4, out_size=p4.shape[-2:])
            p4_2 = stage['sum_44_4'](p4_1, p4, out_size=p4.shape[-2:])
            p3 = stage['sum_43_3'](p4_2, p3, out_size=p3.shape[-2:])
            p4 = stage['sum_34_4'](p3, p4_2, out_size=p4.shape[-2:])
            p5 = stage['sum_55_5'](p5, stage['gp_43_5'](p4, p3, out_size=p5.shape[-2:]), out_size=p5.shape[-2:])
            p7 = stage['sum_77_7'](p7, stage['gp_54_7'](p5, p4_2, out_size=p7.shape[-2:]), out_size=p7.shape[-2:])
            p6 = stage['gp_75_6'](p7, p5, out_size=p6.shape[-2:])
        return p3, p4, p5, p6, p7
