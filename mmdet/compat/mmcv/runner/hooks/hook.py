"""``mmcv.runner.hooks.hook``: the hook registry and base class."""
from mmdet.runner.hooks.base import HOOKS, Hook

from ..._missing import missing_for

__all__ = ['HOOKS', 'Hook']

__getattr__ = missing_for('mmcv.runner.hooks.hook')
