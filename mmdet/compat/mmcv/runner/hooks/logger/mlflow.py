"""``mmcv.runner.hooks.logger.mlflow``."""
from mmdet.runner.hooks.trackers import MlflowLoggerHook

from ...._missing import missing_for

__all__ = ['MlflowLoggerHook']

__getattr__ = missing_for('mmcv.runner.hooks.logger.mlflow')
