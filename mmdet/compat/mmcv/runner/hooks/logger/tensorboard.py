"""``mmcv.runner.hooks.logger.tensorboard``."""
from mmdet.runner.hooks.logger import TensorboardLoggerHook

from ...._missing import missing_for

__all__ = ['TensorboardLoggerHook']

__getattr__ = missing_for('mmcv.runner.hooks.logger.tensorboard')
