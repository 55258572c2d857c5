"""``mmcv.runner.iter_based_runner``."""
from mmdet.runner.runner import IterBasedRunner, IterLoader

from .._missing import missing_for

__all__ = ['IterBasedRunner', 'IterLoader']

__getattr__ = missing_for('mmcv.runner.iter_based_runner')
