"""``mmcv.runner.hooks.momentum_updater``: the momentum policies."""
from mmdet.runner.hooks.momentum_updater import (CosineAnnealingMomentumUpdaterHook, CyclicMomentumUpdaterHook,
                                                 LinearAnnealingMomentumUpdaterHook, MomentumUpdaterHook,
                                                 OneCycleMomentumUpdaterHook, StepMomentumUpdaterHook)
from mmdet.runner.hooks.schedule import annealing_cos, annealing_linear

from ..._missing import missing_for

__all__ = ['MomentumUpdaterHook', 'StepMomentumUpdaterHook', 'CosineAnnealingMomentumUpdaterHook',
           'LinearAnnealingMomentumUpdaterHook', 'CyclicMomentumUpdaterHook', 'OneCycleMomentumUpdaterHook',
           'annealing_cos', 'annealing_linear']

__getattr__ = missing_for('mmcv.runner.hooks.momentum_updater')
