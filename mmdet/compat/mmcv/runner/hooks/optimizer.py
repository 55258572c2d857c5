"""``mmcv.runner.hooks.optimizer``: backward and step.

This toolbox's :class:`OptimizerHook` follows the run's mixed precision (``runner.amp``, set from
``fp16=dict(loss_scale=...)``), so mmcv's fp16 variants are these hooks with mmcv's arguments: built
directly (``Fp16OptimizerHook(loss_scale=512.)``) on a runner without mixed precision they turn it on in
``before_run``, as mmcv's do (float16 autocast and a GradScaler on CUDA, bfloat16 on the CPU).
``coalesce``, ``bucket_size_mb`` and ``distributed`` are accepted and unused (DDP all-reduces the
gradients itself).  From a config (``optimizer_config=dict(type='Fp16OptimizerHook', ...)``) the runner
builds them as before.
"""
from mmdet.runner.hooks.optimizer import GradientCumulativeOptimizerHook, OptimizerHook

from ..._missing import missing_for

__all__ = ['OptimizerHook', 'Fp16OptimizerHook', 'GradientCumulativeOptimizerHook',
           'GradientCumulativeFp16OptimizerHook']


def _amp_loss_scale(loss_scale):
    """mmcv's ``loss_scale`` (a number, ``'dynamic'`` or a GradScaler-argument dict) as ``AmpState`` takes it."""
    return 'dynamic' if isinstance(loss_scale, dict) else loss_scale


class _Fp16:
    def _take_fp16_args(self, loss_scale=512., coalesce=True, bucket_size_mb=-1, distributed=True):
        self.loss_scale, self.coalesce = loss_scale, coalesce
        self.bucket_size_mb, self.distributed = bucket_size_mb, distributed

    def before_run(self, runner):
        if getattr(runner, 'amp', None) is None:
            from mmdet.runner.runner import AmpState
            runner.amp = AmpState(runner.device, _amp_loss_scale(self.loss_scale))
        super().before_run(runner)


class Fp16OptimizerHook(_Fp16, OptimizerHook):
    """mmcv's ``Fp16OptimizerHook(grad_clip=None, coalesce=True, bucket_size_mb=-1, loss_scale=512.,
    distributed=True)``: :class:`OptimizerHook` under mixed precision."""

    def __init__(self, grad_clip=None, coalesce=True, bucket_size_mb=-1, loss_scale=512., distributed=True,
                 **kwargs):
        super().__init__(grad_clip=grad_clip, **kwargs)
        self._take_fp16_args(loss_scale, coalesce, bucket_size_mb, distributed)


class GradientCumulativeFp16OptimizerHook(_Fp16, GradientCumulativeOptimizerHook):
    """mmcv's ``GradientCumulativeFp16OptimizerHook(cumulative_iters=1, grad_clip=None, loss_scale=512., ...)``."""

    def __init__(self, cumulative_iters=1, grad_clip=None, coalesce=True, bucket_size_mb=-1, loss_scale=512.,
                 distributed=True, **kwargs):
        super().__init__(cumulative_iters=cumulative_iters, grad_clip=grad_clip, **kwargs)
        self._take_fp16_args(loss_scale, coalesce, bucket_size_mb, distributed)


__getattr__ = missing_for('mmcv.runner.hooks.optimizer')
