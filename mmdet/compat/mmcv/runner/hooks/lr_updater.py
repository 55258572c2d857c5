"""``mmcv.runner.hooks.lr_updater``: the learning-rate policies and the annealing functions."""
from mmdet.runner.hooks.lr_updater import (CosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook,
                                           CyclicLrUpdaterHook, ExpLrUpdaterHook, FixedLrUpdaterHook,
                                           FlatCosineAnnealingLrUpdaterHook, InvLrUpdaterHook,
                                           LinearAnnealingLrUpdaterHook, LrUpdaterHook, OneCycleLrUpdaterHook,
                                           PolyLrUpdaterHook, StepLrUpdaterHook)
from mmdet.runner.hooks.schedule import annealing_cos, annealing_linear

from ..._missing import missing_for

__all__ = ['LrUpdaterHook', 'FixedLrUpdaterHook', 'StepLrUpdaterHook', 'ExpLrUpdaterHook', 'PolyLrUpdaterHook',
           'InvLrUpdaterHook', 'CosineAnnealingLrUpdaterHook', 'FlatCosineAnnealingLrUpdaterHook',
           'CosineRestartLrUpdaterHook', 'CyclicLrUpdaterHook', 'OneCycleLrUpdaterHook',
           'LinearAnnealingLrUpdaterHook', 'annealing_cos', 'annealing_linear']

__getattr__ = missing_for('mmcv.runner.hooks.lr_updater')
