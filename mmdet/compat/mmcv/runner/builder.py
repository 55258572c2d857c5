"""``mmcv.runner.builder``: the runner registry."""
from mmdet.runner.builder import build_runner
from mmdet.runner.runner import RUNNERS

from .._missing import missing_for

__all__ = ['RUNNERS', 'build_runner']

__getattr__ = missing_for('mmcv.runner.builder')
