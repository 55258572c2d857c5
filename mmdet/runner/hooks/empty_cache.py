"""Give the CUDA caching allocator's unused blocks back (mmcv 1.x's ``EmptyCacheHook``)."""
import torch

from .base import HOOKS, Hook


@HOOKS.register_module()
class EmptyCacheHook(Hook):
    """``torch.cuda.empty_cache()`` at the chosen stages of training and of the val workflow step (a
    no-op without CUDA).  It frees no memory in use; it helps when another process shares the GPU, or
    fragmentation from images of varying sizes runs a long job out of memory, at the cost of slower
    allocations afterwards.

    Args:
        before_epoch (bool): before every epoch.
        after_epoch (bool): after every epoch (mmcv's default).
        after_iter (bool): after every iteration.
        before_iter (bool): before every iteration.
    """

    def __init__(self, before_epoch=False, after_epoch=True, after_iter=False, before_iter=False):
        self._before_epoch, self._after_epoch = before_epoch, after_epoch
        self._before_iter, self._after_iter = before_iter, after_iter

    @staticmethod
    def _empty():
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def before_epoch(self, runner):
        if self._before_epoch:
            self._empty()

    def after_epoch(self, runner):
        if self._after_epoch:
            self._empty()

    def before_iter(self, runner):
        if self._before_iter:
            self._empty()

    def after_iter(self, runner):
        if self._after_iter:
            self._empty()
