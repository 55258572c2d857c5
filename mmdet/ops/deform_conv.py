"""Deformable convolutions (DCN, DCNv2).

Offsets use the mmcv/torchvision layout: channel ``2k`` is the y (row) offset
and ``2k+1`` the x (column) offset of kernel point ``k`` (row-major).

On CUDA the op is ``torchvision.ops.deform_conv2d``.  On the CPU the same
function is a weighted gather of NHWC pixel rows (``F.embedding_bag``: the
four bilinear corners of every sample, zero outside the image, exactly the
deformable sampling rule) followed by one 1x1 convolution over the sampled
columns.  It is 2-3x faster than ``grid_sample`` + matmul at inference and
torchvision's CPU backward is 7-18x slower for training
(``tools/analysis_tools/benchmark_train_step.py``); the tests check all forms
against each other.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d as tv_deform_conv2d

from .conv import Conv2d


def _sampling_points(offset, weight_hw, stride, padding, dilation):
    """Sampling positions (in input pixels) of every kernel point: two
    (n, dg, k, ho, wo) tensors ``py``, ``px``."""
    n, _, ho, wo = offset.shape
    (kh, kw), k = weight_hw, weight_hw[0] * weight_hw[1]
    dev, dt = offset.device, offset.dtype
    ys = torch.arange(ho, device=dev, dtype=dt) * stride[0] - padding[0]
    xs = torch.arange(wo, device=dev, dtype=dt) * stride[1] - padding[1]
    ky = (torch.arange(kh, device=dev, dtype=dt) * dilation[0]).repeat_interleave(kw)
    kx = (torch.arange(kw, device=dev, dtype=dt) * dilation[1]).repeat(kh)
    off = offset.view(n, -1, k, 2, ho, wo)
    py = ys.view(1, 1, 1, ho, 1) + ky.view(1, 1, k, 1, 1) + off[:, :, :, 0]
    px = xs.view(1, 1, 1, 1, wo) + kx.view(1, 1, k, 1, 1) + off[:, :, :, 1]
    return py, px


def _columns_to_output(cols, weight, bias, groups):
    """The conv part of a deformable conv: ``cols`` (n, C*k, ho, wo) holds the
    sampled inputs in the weight's (C, kh, kw) order; one 1x1 convolution
    (oneDNN on the CPU, well ahead of a matmul there) gives the output."""
    out_ch = weight.shape[0]
    return F.conv2d(cols, weight.reshape(out_ch, -1, 1, 1), bias, groups=groups)


def deform_conv2d_sampled(x, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    """Deformable conv as ``F.grid_sample`` + a 1x1 conv; same arguments and
    result as torchvision's.  Exports to ONNX as GridSample (the ``sampled``
    DCN mode of the deployment tools)."""
    n, c, h, w = x.shape
    out_ch, cg, kh, kw = weight.shape
    k = kh * kw
    dg = offset.shape[1] // (2 * k)
    ho, wo = offset.shape[2:]
    py, px = _sampling_points(offset, (kh, kw), stride, padding, dilation)
    # pixel p -> normalised (2p + 1) / size - 1 under align_corners=False
    grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], -1).view(n * dg, k * ho, wo, 2)
    cols = F.grid_sample(x.reshape(n * dg, c // dg, h, w), grid, mode='bilinear', padding_mode='zeros',
                         align_corners=False).view(n, dg, c // dg, k, ho, wo)
    if mask is not None:
        cols = cols * mask.view(n, dg, 1, k, ho, wo)
    return _columns_to_output(cols.reshape(n, c * k, ho, wo), weight, bias, c // cg)


def deform_conv2d_gathered(x, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    """Deformable conv with the bilinear sampling done as one weighted gather
    of whole pixel rows (``F.embedding_bag`` over the NHWC input: four
    corners per sample, the bilinear weights times the DCNv2 mask as
    per-sample weights), then a 1x1 conv over the channels-last columns.

    The same sampling rule as torchvision's (a corner outside the image
    contributes zero); 2.2x faster than ``grid_sample`` on the CPU because each
    corner is one contiguous row of C values rather than C strided ones.
    """
    n, c, h, w = x.shape
    out_ch, cg, kh, kw = weight.shape
    k, groups = kh * kw, c // cg
    dg = offset.shape[1] // (2 * k)
    ho, wo = offset.shape[2:]
    py, px = _sampling_points(offset, (kh, kw), stride, padding, dilation)
    # one bag per (image, output pixel, kernel point, deform group): (n, ho, wo, k, dg, 1)
    py, px = (t.permute(0, 3, 4, 2, 1).unsqueeze(-1) for t in (py, px))
    y0, x0 = py.floor(), px.floor()
    ly, lx = py - y0, px - x0
    corner = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], device=x.device)
    ys = y0.long() + corner[:, 0]  # (..., 4) corners: top-left, top-right, bottom-left, bottom-right
    xs = x0.long() + corner[:, 1]
    wy = torch.where(corner[:, 0] == 1, ly, 1 - ly)
    wx = torch.where(corner[:, 1] == 1, lx, 1 - lx)
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    weights = wy * wx * inside
    if mask is not None:
        weights = weights * mask.view(n, dg, k, ho, wo).permute(0, 3, 4, 2, 1).unsqueeze(-1)
    # row of (image b, pixel y, x, group g) in the (n*h*w*dg, c/dg) table; clamped so no index leaves it
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1, 1, 1)
    group = torch.arange(dg, device=x.device).view(1, 1, 1, 1, dg, 1)
    rows = ((batch * h + ys.clamp(0, h - 1)) * w + xs.clamp(0, w - 1)) * dg + group
    table = x.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(n * h * w * dg, c // dg)
    cols = F.embedding_bag(rows.reshape(-1, 4), table, per_sample_weights=weights.reshape(-1, 4).to(table.dtype),
                           mode='sum')  # (n*ho*wo*k, c): columns in (k, c) order
    if groups > 1:  # the 1x1 conv wants each group's (k, cg) block together
        cols = cols.view(n * ho * wo, k, groups, cg).transpose(1, 2)
    cols = cols.reshape(n, ho, wo, c * k).permute(0, 3, 1, 2)  # channels-last (n, C*k, ho, wo)
    weight = weight.view(out_ch, cg, k).transpose(1, 2)  # (out, k, cg) to match
    return _columns_to_output(cols, weight, bias, groups)


def kernel_grid_offset(kernel_size):
    """(1, 2*k*k, 1, 1) float64 (dy, dx) of a k x k kernel's regular sampling grid, row-major."""
    pad = (kernel_size - 1) // 2
    base = np.arange(-pad, pad + 1).astype(np.float64)
    grid = np.stack([np.repeat(base, kernel_size), np.tile(base, kernel_size)], axis=1).reshape(-1)
    return torch.tensor(grid).view(1, -1, 1, 1)


# the form CPU tensors take: 'gathered' (default, fastest), 'sampled' (grid_sample: what the ONNX
# exporter's sampled mode traces) or 'torchvision' (its CPU kernel, for comparisons)
CPU_IMPLS = dict(gathered=deform_conv2d_gathered, sampled=deform_conv2d_sampled, torchvision=tv_deform_conv2d)
CPU_IMPL = 'gathered'


def deform_conv2d(x, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    """Deformable conv of ``x`` (n, C, h, w) at ``offset`` (n, 2*dg*k, ho, wo), DCNv2 ``mask``
    (n, dg*k, ho, wo) optional, ``weight`` (out, C/groups, kh, kw): (n, out, ho, wo).

    Offsets, mask, weight and bias are cast to one dtype here: ``x``'s, except under CUDA autocast
    (``fp16``/bf16 training, ``--amp``), where the op runs as a float32 island, as 2.x's
    ``force_fp32`` did for mmcv's DCN: everything in float32 (sampling positions of hundreds of
    pixels lose whole pixels in half precision), the result in the autocast dtype, so no mix of Half
    and Float reaches the kernel (mmdet #4172)."""
    island = x.is_cuda and torch.is_autocast_enabled('cuda')
    dtype = torch.float32 if island else x.dtype
    x, offset, weight = x.to(dtype), offset.to(dtype), weight.to(dtype)
    bias = None if bias is None else bias.to(dtype)
    mask = None if mask is None else mask.to(dtype)
    if not x.is_cuda:
        return CPU_IMPLS[CPU_IMPL](x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation,
                                   mask=mask)
    if not island:
        return tv_deform_conv2d(x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation,
                                mask=mask)
    with torch.autocast('cuda', enabled=False):
        out = tv_deform_conv2d(x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation,
                               mask=mask)
    return out.to(torch.get_autocast_dtype('cuda'))


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
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, mask=mask)

    def extra_repr(self):
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, padding={self.padding}, deform_groups={self.deform_groups}')


class DeformConv2dPack(DeformConv2d):
    """DCN that predicts its own offsets with ``conv_offset`` (zero-initialised)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conv_offset = Conv2d(self.in_channels, self.deform_groups * 2 * math.prod(self.kernel_size),
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
        self.conv_offset = Conv2d(self.in_channels, self.deform_groups * 3 * math.prod(self.kernel_size),
                                  self.kernel_size, stride=self.stride, padding=self.padding,
                                  dilation=self.dilation, bias=True)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x):
        out = self.conv_offset(x)
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        return super().forward(x, torch.cat((o1, o2), dim=1), torch.sigmoid(mask))
