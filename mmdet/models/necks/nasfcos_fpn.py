"""The searched feature pyramid of NAS-FCOS (Wang et al., CVPR 2020), with
MMDetection 2.x's layout (``adapt_convs``, ``fpn.<cell>``, ``extra_downsamples``).

C3..C5 are adapted to ``out_channels`` by 1x1 conv + BN + ReLU (f0, f1, f2).
Seven "concat cells" then each merge two earlier features into a new one
(f3..f9): input convs (3x3, the neck's ``conv_cfg``/``norm_cfg``, ReLU),
resize both to the larger size, concatenate, BN + ReLU + grouped 1x1 conv.
The cell name ``cIJ`` says which features it merges.  P3..P5 are f9, f8, f7
each plus f5 (bilinearly resized), resized to C3..C5's sizes; the extra levels
are stride-2 3x3 convs on the last one.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet.ops import ConvModule, kaiming_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import NECKS
from .fpn import check_inputs

# (name, first input, second input, conv on the first, conv on the second), in order of evaluation
NASFCOS_CELLS = (('c22_1', 2, 2, True, True), ('c22_2', 2, 2, True, True), ('c32', 3, 2, True, False),
                 ('c02', 0, 2, True, False), ('c42', 4, 2, True, True), ('c36', 3, 6, True, True),
                 ('c61', 6, 1, True, True))


def caffe2_xavier_init(module, bias=0):
    """Caffe2's XavierFill: uniform Kaiming with ``a=1``, fan-in (mmcv's ``caffe2_xavier_init``)."""
    kaiming_init(module, a=1, mode='fan_in', nonlinearity='leaky_relu', bias=bias, distribution='uniform')


class ConcatCell(nn.Module):
    """Merge two (N, C, H, W) features (mmcv's ``ConcatCell``).

    ``input1_conv`` / ``input2_conv`` (3x3 ConvModule with bias, or identity),
    resize both to ``out_size`` (default: the larger of the two sizes; nearest
    upsampling, max-pooling down), concatenate to 2C channels, then
    ``out_conv``: BN(2C) -> ReLU -> 1x1 conv to C channels in C groups.
    """

    def __init__(self, channels, with_input1_conv, with_input2_conv, input_conv_cfg=None, input_norm_cfg=None,
                 upsample_mode='nearest'):
        super().__init__()
        if upsample_mode not in ('nearest', 'bilinear'):
            raise InvalidArgumentError(f"ConcatCell upsample_mode must be 'nearest' or 'bilinear', "
                                       f"got {upsample_mode!r}")
        self.upsample_mode = upsample_mode
        self.out_conv = ConvModule(channels * 2, channels, 1, padding=0, groups=channels, bias=False,
                                   norm_cfg=dict(type='BN'), order=('norm', 'act', 'conv'))

        def input_conv(used):
            return (ConvModule(channels, channels, 3, padding=1, conv_cfg=input_conv_cfg, norm_cfg=input_norm_cfg,
                               bias=True) if used else nn.Sequential())
        self.input1_conv = input_conv(with_input1_conv)
        self.input2_conv = input_conv(with_input2_conv)

    def _resize(self, x, size):
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        if tuple(x.shape[-2:]) < tuple(size):  # as mmcv: compared as (h, w) tuples
            return F.interpolate(x, size=tuple(size), mode=self.upsample_mode)
        h, w = x.shape[-2:]
        th, tw = size
        if h % th or w % tw:  # pad (zeros, centred) to a multiple of the target size
            ph, pw = -(-h // th) * th - h, -(-w // tw) * tw - w
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        kernel = (x.shape[-2] // th, x.shape[-1] // tw)
        return F.max_pool2d(x, kernel_size=kernel, stride=kernel)

    def forward(self, x1, x2, out_size=None):
        if out_size is None:
            out_size = max(tuple(x1.shape[-2:]), tuple(x2.shape[-2:]))
        x1 = self._resize(self.input1_conv(x1), out_size)
        x2 = self._resize(self.input2_conv(x2), out_size)
        return self.out_conv(torch.cat([x1, x2], dim=1))


@NECKS.register_module()
class NASFCOS_FPN(nn.Module):
    """NAS-FCOS feature pyramid.

    Args:
        in_channels (list[int]): channels of the backbone outputs (C2..C5).
        out_channels (int): channels of every output level.
        num_outs (int): number of outputs (3 from C3..C5, then extra levels).
        start_level (int): first backbone output used (1: C3).
        end_level (int): last backbone output used, exclusive (-1: all).
        add_extra_convs (bool): kept for 2.x configs; the extra levels are
            always stride-2 convs.
        conv_cfg (dict | None): conv of the cells' input convs (DCNv2 in the configs).
        norm_cfg (dict | None): norm of the cells' input convs.

    Forward: the backbone outputs -> a tuple of ``num_outs`` (N, out_channels,
    H, W) maps, P3 first.
    """

    def __init__(self, in_channels, out_channels, num_outs, start_level=1, end_level=-1, add_extra_convs=False,
                 conv_cfg=None, norm_cfg=None, init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(in_channels, (list, tuple)):
            raise InvalidArgumentError(f'{name} in_channels must be a list, got {in_channels!r}')
        self.in_channels, self.out_channels = list(in_channels), out_channels
        self.num_ins, self.num_outs = len(in_channels), num_outs
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        if end_level == -1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise InvalidArgumentError(f'{name} num_outs={num_outs} is fewer than the '
                                           f'{self.num_ins - start_level} inputs used')
        else:
            if not (end_level <= self.num_ins and num_outs == end_level - start_level):
                raise InvalidArgumentError(f'{name} end_level={end_level} needs end_level <= {self.num_ins} and '
                                           f'num_outs == end_level - start_level, got num_outs={num_outs}')
            self.backbone_end_level = end_level
        if self.backbone_end_level - start_level < 3:
            raise InvalidArgumentError(f'{name} merges three inputs (C3, C4, C5); start_level={start_level} and '
                                       f'end_level={end_level} give {self.backbone_end_level - start_level}')
        self.start_level, self.end_level = start_level, end_level
        self.add_extra_convs = add_extra_convs

        self.adapt_convs = nn.ModuleList([
            ConvModule(in_channels[i], out_channels, 1, stride=1, padding=0, bias=False, norm_cfg=dict(type='BN'),
                       act_cfg=dict(type='ReLU', inplace=False))
            for i in range(start_level, self.backbone_end_level)])
        self.fpn = nn.ModuleDict({
            cell: ConcatCell(out_channels, conv1, conv2, input_conv_cfg=conv_cfg, input_norm_cfg=norm_cfg)
            for cell, _, _, conv1, conv2 in NASFCOS_CELLS})
        extra_levels = num_outs - self.backbone_end_level + start_level
        self.extra_downsamples = nn.ModuleList([
            ConvModule(out_channels, out_channels, 3, stride=2, padding=1,
                       act_cfg=None if i == 0 else dict(type='ReLU', inplace=False), order=('act', 'norm', 'conv'))
            for i in range(extra_levels)])

    def forward(self, inputs):
        check_inputs(self, inputs)
        feats = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.adapt_convs)]
        for cell, a, b, _, _ in NASFCOS_CELLS:
            feats.append(self.fpn[cell](feats[a], feats[b]))
        outs = []
        # P3, P4, P5 at the sizes of the backbone's 2nd, 3rd and 4th outputs (as 2.x, whatever start_level)
        for idx, input_idx in zip((9, 8, 7), (1, 2, 3)):
            f5 = F.interpolate(feats[5], size=feats[idx].shape[2:], mode='bilinear', align_corners=False)
            outs.append(F.interpolate(feats[idx] + f5, size=inputs[input_idx].shape[2:], mode='bilinear',
                                      align_corners=False))
        for conv in self.extra_downsamples:
            outs.append(conv(outs[-1]))
        return tuple(outs)

    def init_weights(self):
        """Caffe2 Xavier on the plain convs of ``adapt_convs`` and
        ``extra_downsamples``; the cells keep their modules' own init (2.x
        meant to re-init the cells' ``out_conv`` too, but its check looked for
        an attribute ``conv_out`` that does not exist, so it never did)."""
        for m in list(self.adapt_convs.modules()) + list(self.extra_downsamples.modules()):
            if isinstance(m, nn.Conv2d):
                caffe2_xavier_init(m)
