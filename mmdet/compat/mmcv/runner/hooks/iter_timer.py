"""``mmcv.runner.hooks.iter_timer``."""
from mmdet.runner.hooks.iter_timer import IterTimerHook

from ..._missing import missing_for

__all__ = ['IterTimerHook']

__getattr__ = missing_for('mmcv.runner.hooks.iter_timer')
