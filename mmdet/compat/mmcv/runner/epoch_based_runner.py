"""``mmcv.runner.epoch_based_runner``."""
from mmdet.runner.runner import EpochBasedRunner

from .._missing import missing_for

__all__ = ['EpochBasedRunner']

__getattr__ = missing_for('mmcv.runner.epoch_based_runner')
