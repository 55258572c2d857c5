"""``mmcv.runner`` names used by 2.x code: modules (``BaseModule``), hooks, optimizers, checkpoints, fp16,
runners.  A package, as mmcv's: ``mmcv.runner.hooks`` (and ``.hooks.lr_updater``, ``.hooks.optimizer``,
``.hooks.logger.wandb``, ...), ``mmcv.runner.optimizer`` (``.builder``), ``mmcv.runner.checkpoint``,
``mmcv.runner.dist_utils``, ``mmcv.runner.base_module``, ``mmcv.runner.fp16_utils``, ``mmcv.runner.priority``,
``mmcv.runner.log_buffer``, ``mmcv.runner.builder`` and the runner modules re-export this toolbox's own."""
from .._missing import missing_for
from .base_module import BaseModule, ModuleDict, ModuleList, Sequential
from .builder import RUNNERS, build_runner
from .checkpoint import _load_checkpoint, load_checkpoint, load_state_dict, save_checkpoint
from .dist_utils import get_dist_info, init_dist, master_only
from .epoch_based_runner import EpochBasedRunner
from .fp16_utils import auto_fp16, force_fp32, wrap_fp16_model
from .hooks import (HOOKS, CheckpointHook, CosineAnnealingLrUpdaterHook, CosineAnnealingMomentumUpdaterHook,
                    CosineRestartLrUpdaterHook, CyclicLrUpdaterHook, CyclicMomentumUpdaterHook, DistEvalHook,
                    DistSamplerSeedHook, EMAHook, EmptyCacheHook, EvalHook, ExpLrUpdaterHook, FixedLrUpdaterHook,
                    FlatCosineAnnealingLrUpdaterHook, Fp16OptimizerHook, GradientCumulativeFp16OptimizerHook,
                    GradientCumulativeOptimizerHook, Hook, InvLrUpdaterHook, IterTimerHook,
                    LinearAnnealingLrUpdaterHook, LinearAnnealingMomentumUpdaterHook, LoggerHook, LrUpdaterHook,
                    MlflowLoggerHook, MomentumUpdaterHook, OneCycleLrUpdaterHook, OneCycleMomentumUpdaterHook,
                    OptimizerHook, PolyLrUpdaterHook, StepLrUpdaterHook, StepMomentumUpdaterHook,
                    TensorboardLoggerHook, TextLoggerHook, WandbLoggerHook)
from .hooks.lr_updater import annealing_cos, annealing_linear
from .iter_based_runner import IterBasedRunner, IterLoader
from .log_buffer import LogBuffer
from .optimizer import (OPTIMIZER_BUILDERS, OPTIMIZERS, DefaultOptimizerConstructor, build_optimizer,
                        build_optimizer_constructor)
from .priority import Priority, get_priority

__all__ = ['BaseModule', 'Sequential', 'ModuleList', 'ModuleDict', 'RUNNERS', 'build_runner', 'EpochBasedRunner',
           'IterBasedRunner', 'IterLoader', 'LogBuffer', 'load_checkpoint', 'save_checkpoint', '_load_checkpoint',
           'load_state_dict', 'get_dist_info', 'init_dist', 'master_only', 'auto_fp16', 'force_fp32',
           'wrap_fp16_model', 'Priority', 'get_priority', 'OPTIMIZERS', 'OPTIMIZER_BUILDERS',
           'DefaultOptimizerConstructor', 'build_optimizer', 'build_optimizer_constructor', 'HOOKS', 'Hook',
           'CheckpointHook', 'DistSamplerSeedHook', 'EvalHook', 'DistEvalHook', 'EMAHook', 'EmptyCacheHook',
           'IterTimerHook', 'LoggerHook', 'TextLoggerHook', 'TensorboardLoggerHook', 'WandbLoggerHook',
           'MlflowLoggerHook', 'OptimizerHook', 'Fp16OptimizerHook', 'GradientCumulativeOptimizerHook',
           'GradientCumulativeFp16OptimizerHook', 'LrUpdaterHook', 'FixedLrUpdaterHook', 'StepLrUpdaterHook',
           'ExpLrUpdaterHook', 'PolyLrUpdaterHook', 'InvLrUpdaterHook', 'CosineAnnealingLrUpdaterHook',
           'FlatCosineAnnealingLrUpdaterHook', 'CosineRestartLrUpdaterHook', 'CyclicLrUpdaterHook',
           'OneCycleLrUpdaterHook', 'LinearAnnealingLrUpdaterHook', 'MomentumUpdaterHook', 'StepMomentumUpdaterHook',
           'CosineAnnealingMomentumUpdaterHook', 'LinearAnnealingMomentumUpdaterHook', 'CyclicMomentumUpdaterHook',
           'OneCycleMomentumUpdaterHook', 'annealing_cos', 'annealing_linear']

__getattr__ = missing_for('mmcv.runner')
