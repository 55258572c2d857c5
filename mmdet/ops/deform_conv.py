"""Deformable convolutions (DCN, DCNv2).

Offsets use the mmcv/torchvision layout: channel ``2k`` is the y (row) offset
and ``2k+1`` the x (column) offset of kernel point ``k`` (row-major).

On CUDA the op is ``torchvision.ops.deform_conv2d``.  On the CPU the same
function is computed as bilinear sampling with ``F.grid_sample`` (zero
padding, ``align_corners=False``, which is exactly the deformable sampling
rule) followed by one grouped matmul: torchvision's CPU backward is 7-18x
slower (``tools/analysis_tools/benchmark_train_step.py``); the tests check both
against each other.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d as tv_deform_conv2d


def deform_conv2d_sampled(x, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    """Deformable conv as grid_sample + matmul; same arguments and result as torchvision's."""
    n, c, h, w = x.shape
    out_ch, cg, kh, kw = weight.shape
    k = kh * kw
    groups, dg = c // cg, offset.shape[1] // (2 * k)
    ho, wo = offset.shape[2:]
    dev, dt = x.device, x.dtype
    ys = torch.arange(ho, device=dev, dtype=dt) * stride[0] - padding[0]
    xs = torch.arange(wo, device=dev, dtype=dt) * stride[1] - padding[1]
    ky = (torch.arange(kh, device=dev, dtype=dt) * dilation[0]).repeat_interleave(kw)
    kx = (torch.arange(kw, device=dev, dtype=dt) * dilation[1]).repeat(kh)
    off = offset.view(n, dg, k, 2, ho, wo)
    py = ys.view(1, 1, 1, ho, 1) + ky.view(1, 1, k, 1, 1) + off[:, :, :, 0]
    px = xs.view(1, 1, 1, 1, wo) + kx.view(1, 1, k, 1, 1) + off[:, :, :, 1]
    # pixel p -> normalised (2p + 1) / size - 1 under align_corners=False
    grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], -1).view(n * dg, k * ho, wo, 2)
    cols = F.grid_sample(x.reshape(n * dg, c // dg, h, w), grid, mode='bilinear', padding_mode='zeros',
                         align_corners=False).view(n, dg, c // dg, k, ho, wo)
    if mask is not None:
        cols = cols * mask.view(n, dg, 1, k, ho, wo)
    cols = cols.reshape(n, groups, cg * k, ho * wo)
    out = torch.matmul(weight.reshape(groups, out_ch // groups, cg * k), cols).view(n, out_ch, ho, wo)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def kernel_grid_offset(kernel_size):
    """(1, 2*k*k, 1, 1) float64 (dy, dx) of a k x k kernel's regular sampling grid, row-major."""
    pad = (kernel_size - 1) // 2
    base = np.arange(-pad, pad + 1).astype(np.float64)
    grid = np.stack([np.repeat(base, kernel_size), np.tile(base, kernel_size)], axis=1).reshape(-1)
    return torch.tensor(grid).view(1, -1, 1, 1)


# which implementation CPU tensors use: 'sampled' (default) or 'torchvision' (for comparisons)
CPU_IMPL = 'sampled'


def deform_conv2d(x, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    fn = tv_deform_conv2d if x.is_cuda or CPU_IMPL == 'torchvision' else deform_conv2d_sampled
    return fn(x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation, mask=mask)


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
