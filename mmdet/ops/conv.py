"""``Conv2d``: ``nn.Conv2d`` with a faster CPU inference path for dense 3x3 convs.

The layer is ``nn.Conv2d`` in every respect that a checkpoint, an optimizer
or autograd can see.  Only when its result needs no gradient, on a float32
CPU tensor outside autocast and export, for a stride-1, undilated, ungrouped
3x3 conv over a large enough map, does it call NNPACK's Winograd F(6x6, 3x3)
kernel (bundled with PyTorch: ``torch._nnpack_spatial_convolution``), which
needs about 5x fewer multiplies than the direct convolution oneDNN runs.
Those layers are most of a detector's work: the head towers, the FPN output
convs and the ResNet bottlenecks' 3x3 convs.  On the 2-core machine of the
docs (``docs/useful_tools.md``, "Speed on the CPU") a 256->256 conv on a
100x152 map takes 0.042 s instead of 0.10 s; on small maps, few channels or a
batch in one call NNPACK is slower, so :func:`winograd_pays` keeps those on
oneDNN.

Winograd computes the same convolution through tile transforms, so float32
results differ from the direct conv by rounding only: about 1e-5 of the
largest output (tested against float64), and VFNet-R50's detections are the
same (tested at 2x3x512x640).  ``WINOGRAD = False`` (or ``MMDET_WINOGRAD=0``)
turns it off.
"""
import functools
import os

import torch
import torch.nn as nn

WINOGRAD = os.environ.get('MMDET_WINOGRAD', '1') != '0'


@functools.cache
def _nnpack_ready():
    # also initialises NNPACK: its conv fails until this has been called once
    return torch._nnpack_available()


def winograd_pays(in_channels, out_channels, height, width):
    """Whether NNPACK's Winograd beats oneDNN for one image inside a network.

    Measured on the 2-core AVX2 machine of the docs.  Alone, NNPACK takes
    0.4-0.7x oneDNN's time from about 1k pixels on (256 channels; 16x20: 2.2x
    slower).  Inside a network each switch between oneDNN's OpenMP threads,
    which spin for a while after every op, and NNPACK's own thread pool costs a
    few milliseconds, so the rule asks for 3k pixels for 128+ output channels
    (VFNet-R50 at 512x640: P4, 32x40, ran 10 % slower with it), 8k for 64-127
    (the 80-class classifier), never fewer than 64 channels.
    """
    return min(in_channels, out_channels) >= 64 and height * width >= (3000 if out_channels >= 128 else 8192)


def _cpu_autocast():
    try:
        return torch.is_autocast_enabled('cpu')
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def winograd_applies(conv, x):
    """Whether ``conv`` (an ``nn.Conv2d``) on input ``x`` takes the Winograd path."""
    return (WINOGRAD and type(x) is torch.Tensor and x.device.type == 'cpu' and x.dtype == torch.float32
            and x.dim() == 4 and conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.dilation == (1, 1)
            and conv.groups == 1 and conv.padding_mode == 'zeros' and isinstance(conv.padding, tuple)
            and max(conv.padding) <= 2
            and not (torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad))
            and not torch.jit.is_tracing() and not torch.compiler.is_compiling() and not _cpu_autocast()
            and winograd_pays(x.shape[1], conv.out_channels, x.shape[2], x.shape[3]) and _nnpack_ready())


def winograd_conv3x3(x, weight, bias, padding):
    """A 3x3 stride-1 conv of NCHW float32 ``x`` by NNPACK's Winograd kernel,
    one image per call (NNPACK's batched mode is slower than oneDNN)."""
    weight = weight.contiguous()
    outs = [torch._nnpack_spatial_convolution(xi.contiguous(), weight, bias, list(padding))
            for xi in x.split(1)]
    return outs[0] if len(outs) == 1 else torch.cat(outs)


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` that runs dense 3x3 convs through Winograd at CPU inference."""

    def _conv_forward(self, x, weight, bias):
        if winograd_applies(self, x):
            return winograd_conv3x3(x, weight, bias, self.padding)
        return super()._conv_forward(x, weight, bias)

