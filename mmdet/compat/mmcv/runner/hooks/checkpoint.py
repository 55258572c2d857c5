"""``mmcv.runner.hooks.checkpoint``."""
from mmdet.runner.hooks.checkpoint import CheckpointHook

from ..._missing import missing_for

__all__ = ['CheckpointHook']

__getattr__ = missing_for('mmcv.runner.hooks.checkpoint')
