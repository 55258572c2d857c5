"""``mmcv.runner.hooks.logger.wandb``."""
from mmdet.runner.hooks.trackers import WandbLoggerHook

from ...._missing import missing_for

__all__ = ['WandbLoggerHook']

__getattr__ = missing_for('mmcv.runner.hooks.logger.wandb')
