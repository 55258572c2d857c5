"""``mmcv.runner.log_buffer``."""
from mmdet.runner.hooks.logger import LogBuffer

from .._missing import missing_for

__all__ = ['LogBuffer']

__getattr__ = missing_for('mmcv.runner.log_buffer')
