"""``mmcv.runner.hooks.logger.text``."""
from mmdet.runner.hooks.logger import TextLoggerHook

from ...._missing import missing_for

__all__ = ['TextLoggerHook']

__getattr__ = missing_for('mmcv.runner.hooks.logger.text')
