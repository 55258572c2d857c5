"""Host-side runtime helpers of the tools: peak memory, and the C allocator."""
import ctypes
import os
import resource
import sys

import torch

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def peak_memory_mb(device):
    """Peak CUDA memory allocated on ``device``, else the process's peak resident set, in MiB."""
    if torch.device(device).type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def retain_freed_memory():
    """Let glibc keep freed memory for reuse instead of returning it to the OS.

    By default every block over 32 MiB (a feature map of a detector at full
    resolution) is a fresh ``mmap`` and each of its pages faults on first touch:
    on a 2-core machine that was 20 % of VFNet-R50 inference at 800x1216.  With
    no mmap and no trimming, freed blocks are reused as a caching allocator
    would; the price is that the resident set stays at its peak.  Linux/glibc
    only (a no-op elsewhere); ``MMDET_RETAIN_FREED_MEMORY=0`` turns it off.
    Returns whether it took effect.
    """
    if os.environ.get('MMDET_RETAIN_FREED_MEMORY', '1') == '0' or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 ** 31 - 1))
