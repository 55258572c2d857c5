"""``mmcv.runner.optimizer.default_constructor``."""
from mmdet.runner.optimizer import DefaultOptimizerConstructor

from ..._missing import missing_for

__all__ = ['DefaultOptimizerConstructor']

__getattr__ = missing_for('mmcv.runner.optimizer.default_constructor')
