"""Deformable convolutions (DCN, DCNv2) on ``torchvision.ops.deform_conv2d``.

Offsets use the mmcv/torchvision layout: channel ``2k`` is the y (row) offset
and ``2k+1`` the x (column) offset of kernel point ``k`` (row-major).
"""
import math

import torch
import torch.nn as nn
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d


class DeformConv2d(nn.Module):
    """DCN (v1) whose offsets are given to ``forward(x, offset)``; no bias by default."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, deform_groups=1, bias=False):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'channels {in_channels}->{out_channels} not divisible by groups={groups}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.groups, self.deform_groups = groups, deform_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        n = self.in_channels * math.prod(self.kernel_size)
        stdv = 1.0 / math.sqrt(n)
        self.weight.data.uniform_(-stdv, stdv)
        if self.bias is not None:
            self.bias.data.zero_()

    def forward(self, x, offset, mask=None):
        return deform_conv2d(x, offset.to(x.dtype), self.weight.to(x.dtype),
                             None if self.bias is None else self.bias.to(x.dtype),
                             stride=self.stride, padding=self.padding, dilation=self.dilation,
                             mask=None if mask is None else mask.to(x.dtype))

    def extra_repr(self):
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, padding={self.padding}, deform_groups={self.deform_groups}')


class DeformConv2dPack(DeformConv2d):
    """DCN that predicts its own offsets with ``conv_offset`` (zero-initialised)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conv_offset = nn.Conv2d(self.in_channels, self.deform_groups * 2 * math.prod(self.kernel_size),
                                     self.kernel_size, stride=self.stride, padding=self.padding,
                                     dilation=self.dilation, bias=True)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x):
        return super().forward(x, self.conv_offset(x))


class ModulatedDeformConv2dPack(DeformConv2d):
    """DCNv2: ``conv_offset`` predicts offsets and a sigmoid mask per kernel point."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, deform_groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, deform_groups, bias)
        self.conv_offset = nn.Conv2d(self.in_channels, self.deform_groups * 3 * math.prod(self.kernel_size),
                                     self.kernel_size, stride=self.stride, padding=self.padding,
                                     dilation=self.dilation, bias=True)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x):
        out = self.conv_offset(x)
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        return super().forward(x, torch.cat((o1, o2), dim=1), torch.sigmoid(mask))
