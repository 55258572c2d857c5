from .base import HOOKS, Hook
from .checkpoint import CheckpointHook
from .early_stopping import EarlyStoppingHook
from .ema import BaseEMAHook, EMAHook, ExpMomentumEMAHook, LinearMomentumEMAHook
from .empty_cache import EmptyCacheHook
from .iter_timer import IterTimerHook
from .logger import LogBuffer, LoggerHook, ProgressBarHook, TensorboardLoggerHook, TextLoggerHook
from .lr_updater import (CosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook, CyclicLrUpdaterHook,
                         ExpLrUpdaterHook, FixedLrUpdaterHook, FlatCosineAnnealingLrUpdaterHook, InvLrUpdaterHook,
                         LinearAnnealingLrUpdaterHook, LrUpdaterHook, OneCycleLrUpdaterHook, PolyLrUpdaterHook,
                         StepLrUpdaterHook, build_lr_hook)
from .momentum_updater import (CosineAnnealingMomentumUpdaterHook, CyclicMomentumUpdaterHook,
                               LinearAnnealingMomentumUpdaterHook, MomentumUpdaterHook, OneCycleMomentumUpdaterHook,
                               StepMomentumUpdaterHook, build_momentum_hook)
from .num_class_check import NumClassCheckHook, check_num_classes
from .optimizer import GradientCumulativeOptimizerHook, NonFiniteLossError, OptimizerHook
from .sampler_seed import DistSamplerSeedHook
from .swa import SWAHook
from .trackers import MlflowLoggerHook, TrackerLoggerHook, WandbLoggerHook
from .yolox import (CheckInvalidLossHook, MemoryProfilerHook, SetEpochInfoHook, SyncNormHook, YOLOXLrUpdaterHook,
                    YOLOXModeSwitchHook)

__all__ = ['HOOKS', 'Hook', 'CheckpointHook', 'IterTimerHook', 'LoggerHook',
           'TextLoggerHook', 'TensorboardLoggerHook', 'ProgressBarHook', 'LogBuffer', 'LrUpdaterHook',
           'StepLrUpdaterHook', 'CyclicLrUpdaterHook', 'CosineAnnealingLrUpdaterHook', 'PolyLrUpdaterHook',
           'FixedLrUpdaterHook', 'build_lr_hook', 'OptimizerHook', 'NonFiniteLossError', 'DistSamplerSeedHook',
           'SWAHook', 'NumClassCheckHook', 'check_num_classes', 'ExpLrUpdaterHook', 'InvLrUpdaterHook',
           'FlatCosineAnnealingLrUpdaterHook', 'CosineRestartLrUpdaterHook', 'OneCycleLrUpdaterHook',
           'LinearAnnealingLrUpdaterHook', 'MomentumUpdaterHook', 'StepMomentumUpdaterHook',
           'CosineAnnealingMomentumUpdaterHook', 'LinearAnnealingMomentumUpdaterHook', 'CyclicMomentumUpdaterHook',
           'OneCycleMomentumUpdaterHook', 'build_momentum_hook', 'TrackerLoggerHook', 'WandbLoggerHook',
           'MlflowLoggerHook', 'GradientCumulativeOptimizerHook', 'BaseEMAHook', 'EMAHook', 'ExpMomentumEMAHook',
           'LinearMomentumEMAHook', 'EmptyCacheHook', 'EarlyStoppingHook', 'YOLOXLrUpdaterHook', 'YOLOXModeSwitchHook',
           'SyncNormHook', 'CheckInvalidLossHook', 'SetEpochInfoHook', 'MemoryProfilerHook']
