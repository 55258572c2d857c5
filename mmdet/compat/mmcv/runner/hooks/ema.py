"""``mmcv.runner.hooks.ema``."""
from mmdet.runner.hooks.ema import EMAHook

from ..._missing import missing_for

__all__ = ['EMAHook']

__getattr__ = missing_for('mmcv.runner.hooks.ema')
