from .atss_assigner import ATSSAssigner
from .base import BBOX_ASSIGNERS, AssignResult, build_assigner
from .max_iou_assigner import MaxIoUAssigner
from .point_assigner import PointAssigner
from .point_assign import fcos_assign

__all__ = ['BBOX_ASSIGNERS', 'AssignResult', 'build_assigner', 'ATSSAssigner', 'MaxIoUAssigner', 'PointAssigner',
           'fcos_assign']
