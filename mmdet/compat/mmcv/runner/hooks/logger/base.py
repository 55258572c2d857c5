"""``mmcv.runner.hooks.logger.base``."""
from mmdet.runner.hooks.logger import LoggerHook

from ...._missing import missing_for

__all__ = ['LoggerHook']

__getattr__ = missing_for('mmcv.runner.hooks.logger.base')
