"""Res2Net (Gao et al. 2019): hierarchical multi-scale 3x3 convs in the bottleneck,
with the v1d deep stem and average-pool shortcuts."""
import math

import torch
import torch.nn as nn

from mmdet.ops import build_conv_layer, build_norm_layer
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES
from .resnet import ResNet, check_dcn, check_style, is_int, run_block


def check_scales_and_width(owner, scales, base_width):
    """2.x: ``assert scales > 1`` (Res2Net degenerates to ResNet when scales = 1); the width must be positive."""
    if not (is_int(scales) and scales > 1):
        raise InvalidArgumentError(f'{owner} scales must be an int > 1 (Res2Net degenerates to ResNet when '
                                   f'scales = 1), got {scales!r}')
    if not (is_int(base_width) and base_width > 0):
        raise InvalidArgumentError(f'{owner} base_width must be a positive int, got {base_width!r}')


class Bottle2neck(nn.Module):
    """1x1 -> ``scales - 1`` chained 3x3 convs over channel splits (optionally
    DCN) -> 1x1.  In the first block of a stage (``stage_type='stage'``) the
    splits are not chained and the last split is average-pooled when strided."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None, style='pytorch', with_cp=False,
                 conv_cfg=None, norm_cfg=dict(type='BN'), dcn=None, scales=4, base_width=26, base_channels=64,
                 stage_type='normal'):
        super().__init__()
        name = type(self).__name__
        check_scales_and_width(name, scales, base_width)
        check_style(name, style)
        if stage_type not in ('normal', 'stage'):
            raise InvalidArgumentError(f"{name} stage_type must be 'normal' or 'stage', got {stage_type!r}")
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        width = int(math.floor(planes * (base_width / base_channels)))
        self.width, self.scales, self.stage_type = width, scales, stage_type
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width * scales, postfix=1)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width * scales, 1, stride=self.conv1_stride, bias=False)
        self.add_module(self.norm1_name, norm1)
        if stage_type == 'stage' and self.conv2_stride != 1:
            self.pool = nn.AvgPool2d(kernel_size=3, stride=self.conv2_stride, padding=1)
        check_dcn(name, dcn, None)
        conv2_cfg = dcn if dcn is not None and not dcn.get('fallback_on_stride', False) else conv_cfg
        check_dcn(name, dcn, conv_cfg, uses_dcn=conv2_cfg is dcn)
        self.convs = nn.ModuleList(
            [build_conv_layer(conv2_cfg, width, width, 3, stride=self.conv2_stride, padding=dilation,
                              dilation=dilation, bias=False) for _ in range(scales - 1)])
        self.bns = nn.ModuleList([build_norm_layer(norm_cfg, width, postfix=i + 1)[1] for i in range(scales - 1)])
        self.conv3 = build_conv_layer(conv_cfg, width * scales, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    def forward(self, x):
        def inner(x):
            out = self.relu(getattr(self, self.norm1_name)(self.conv1(x)))
            spx = torch.split(out, self.width, 1)
            sp = self.relu(self.bns[0](self.convs[0](spx[0].contiguous())))
            outs = [sp]
            for i in range(1, self.scales - 1):
                sp = spx[i] if self.stage_type == 'stage' else sp + spx[i]
                sp = self.relu(self.bns[i](self.convs[i](sp.contiguous())))
                outs.append(sp)
            last = spx[self.scales - 1]
            if self.stage_type == 'stage' and self.conv2_stride != 1:
                last = self.pool(last)
            out = getattr(self, self.norm3_name)(self.conv3(torch.cat(outs + [last], 1)))
            return out + (x if self.downsample is None else self.downsample(x))
        return run_block(inner, x, self.with_cp)


def make_res2_layer(block, inplanes, planes, num_blocks, stride=1, dilation=1, avg_down=True, conv_cfg=None,
                    norm_cfg=dict(type='BN'), scales=4, base_width=26, base_channels=64, **block_kwargs):
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True, count_include_pad=False),
            build_conv_layer(conv_cfg, inplanes, planes * block.expansion, 1, stride=1, bias=False),
            build_norm_layer(norm_cfg, planes * block.expansion)[1])
    common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, scales=scales, base_width=base_width,
                  base_channels=base_channels, dilation=dilation, **block_kwargs)
    blocks = [block(inplanes, planes, stride=stride, downsample=downsample, stage_type='stage', **common)]
    blocks += [block(planes * block.expansion, planes, stride=1, **common) for _ in range(1, num_blocks)]
    return nn.Sequential(*blocks)


@BACKBONES.register_module()
class Res2Net(ResNet):
    """Res2Net-50/101/152 (v1d: deep stem, average-pool downsampling)."""

    arch_settings = {50: (Bottle2neck, (3, 4, 6, 3)), 101: (Bottle2neck, (3, 4, 23, 3)),
                     152: (Bottle2neck, (3, 8, 36, 3))}

    def __init__(self, scales=4, base_width=26, style='pytorch', deep_stem=True, avg_down=True, **kwargs):
        check_scales_and_width(type(self).__name__, scales, base_width)
        self.scales, self.base_width = scales, base_width
        self._base_channels = kwargs.get('base_channels', 64)
        super().__init__(style=style, deep_stem=deep_stem, avg_down=avg_down, **kwargs)

    def make_res_layer(self, **kwargs):
        kwargs.pop('avg_down', None)
        return make_res2_layer(scales=self.scales, base_width=self.base_width, base_channels=self._base_channels,
                               **kwargs)
