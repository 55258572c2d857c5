"""``mmcv.runner`` names used by 2.x dense-detection code (hooks, optimizers, checkpoints, fp16)."""
import functools

from mmdet.runner import (RUNNERS, EpochBasedRunner, IterBasedRunner, build_optimizer, load_checkpoint,
                          save_checkpoint)
from mmdet.runner.builder import build_runner
from mmdet.runner.fp16 import auto_fp16, force_fp32, wrap_fp16_model
from mmdet.core.evaluation.eval_hooks import DistEvalHook, EvalHook
from mmdet.runner.hooks import (HOOKS, CheckpointHook, CosineAnnealingLrUpdaterHook, DistSamplerSeedHook,
                                FixedLrUpdaterHook, Hook, IterTimerHook, LoggerHook, LrUpdaterHook, OptimizerHook,
                                PolyLrUpdaterHook, StepLrUpdaterHook, TensorboardLoggerHook, TextLoggerHook)
from mmdet.runner.hooks.base import get_priority
from mmdet.runner.optimizer import (OPTIMIZER_BUILDERS, OPTIMIZERS, DefaultOptimizerConstructor,
                                    build_optimizer_constructor)
from mmdet.utils import get_dist_info, init_dist

from ._missing import missing

__all__ = ['RUNNERS', 'EpochBasedRunner', 'IterBasedRunner', 'build_runner', 'build_optimizer', 'load_checkpoint',
           'save_checkpoint', 'auto_fp16', 'force_fp32', 'wrap_fp16_model', 'HOOKS', 'Hook', 'CheckpointHook',
           'DistSamplerSeedHook', 'EvalHook', 'DistEvalHook', 'IterTimerHook', 'LoggerHook', 'TextLoggerHook',
           'TensorboardLoggerHook', 'LrUpdaterHook', 'StepLrUpdaterHook', 'CosineAnnealingLrUpdaterHook',
           'PolyLrUpdaterHook', 'FixedLrUpdaterHook', 'OptimizerHook', 'get_priority', 'OPTIMIZERS',
           'OPTIMIZER_BUILDERS', 'DefaultOptimizerConstructor', 'build_optimizer_constructor', 'get_dist_info',
           'init_dist', 'master_only']


def master_only(func):
    """Run ``func`` on rank 0 only (returns None elsewhere)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if get_dist_info()[0] == 0:
            return func(*args, **kwargs)
    return wrapper


def __getattr__(name):
    return missing('mmcv.runner', name)
