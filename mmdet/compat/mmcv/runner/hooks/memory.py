"""``mmcv.runner.hooks.memory``."""
from mmdet.runner.hooks.empty_cache import EmptyCacheHook

from ..._missing import missing_for

__all__ = ['EmptyCacheHook']

__getattr__ = missing_for('mmcv.runner.hooks.memory')
