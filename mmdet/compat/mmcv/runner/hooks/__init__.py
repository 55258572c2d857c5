"""``mmcv.runner.hooks``: the hook registry, the base class and the hooks (2.x's ``mmdet/core/hook/*.py``
start with ``from mmcv.runner.hooks import HOOKS, Hook``).  The submodules are mmcv's too
(``mmcv.runner.hooks.lr_updater``, ``.optimizer``, ``.checkpoint``, ``.logger.wandb``, ...)."""
from ..._missing import missing_for
from .checkpoint import CheckpointHook
from .ema import EMAHook
from .evaluation import DistEvalHook, EvalHook
from .hook import HOOKS, Hook
from .iter_timer import IterTimerHook
from .logger import LoggerHook, MlflowLoggerHook, TensorboardLoggerHook, TextLoggerHook, WandbLoggerHook
from .lr_updater import (CosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook, CyclicLrUpdaterHook,
                         ExpLrUpdaterHook, FixedLrUpdaterHook, FlatCosineAnnealingLrUpdaterHook, InvLrUpdaterHook,
                         LinearAnnealingLrUpdaterHook, LrUpdaterHook, OneCycleLrUpdaterHook, PolyLrUpdaterHook,
                         StepLrUpdaterHook)
from .memory import EmptyCacheHook
from .momentum_updater import (CosineAnnealingMomentumUpdaterHook, CyclicMomentumUpdaterHook,
                               LinearAnnealingMomentumUpdaterHook, MomentumUpdaterHook, OneCycleMomentumUpdaterHook,
                               StepMomentumUpdaterHook)
from .optimizer import (Fp16OptimizerHook, GradientCumulativeFp16OptimizerHook, GradientCumulativeOptimizerHook,
                        OptimizerHook)
from .sampler_seed import DistSamplerSeedHook

__all__ = ['HOOKS', 'Hook', 'CheckpointHook', 'EMAHook', 'EvalHook', 'DistEvalHook', 'IterTimerHook', 'LoggerHook',
           'TextLoggerHook', 'TensorboardLoggerHook', 'WandbLoggerHook', 'MlflowLoggerHook', 'LrUpdaterHook',
           'FixedLrUpdaterHook', 'StepLrUpdaterHook', 'ExpLrUpdaterHook', 'PolyLrUpdaterHook', 'InvLrUpdaterHook',
           'CosineAnnealingLrUpdaterHook', 'FlatCosineAnnealingLrUpdaterHook', 'CosineRestartLrUpdaterHook',
           'CyclicLrUpdaterHook', 'OneCycleLrUpdaterHook', 'LinearAnnealingLrUpdaterHook', 'EmptyCacheHook',
           'MomentumUpdaterHook', 'StepMomentumUpdaterHook', 'CosineAnnealingMomentumUpdaterHook',
           'LinearAnnealingMomentumUpdaterHook', 'CyclicMomentumUpdaterHook', 'OneCycleMomentumUpdaterHook',
           'OptimizerHook', 'Fp16OptimizerHook', 'GradientCumulativeOptimizerHook',
           'GradientCumulativeFp16OptimizerHook', 'DistSamplerSeedHook']

__getattr__ = missing_for('mmcv.runner.hooks')
