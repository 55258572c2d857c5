"""``mmcv.runner.priority``: the hook priority levels."""
from mmdet.runner.hooks.base import get_priority

from .._missing import missing_for

try:
    from mmdet.runner.hooks.base import Priority
except ImportError:  # an mmdet.runner.hooks.base without the enum: mmcv's levels, as ints the runner sorts by
    from enum import IntEnum

    from mmdet.runner.hooks.base import PRIORITIES
    Priority = IntEnum('Priority', PRIORITIES, module=__name__)

__all__ = ['Priority', 'get_priority']

__getattr__ = missing_for('mmcv.runner.priority')
