from ..builder import BBOX_ASSIGNERS, build_assigner
from .approx_max_iou_assigner import ApproxMaxIoUAssigner
from .assign_result import AssignResult
from .atss_assigner import ATSSAssigner
from .base_assigner import BaseAssigner
from .center_region_assigner import CenterRegionAssigner
from .max_iou_assigner import MaxIoUAssigner
from .point_assign import fcos_assign
from .point_assigner import PointAssigner

__all__ = ['BBOX_ASSIGNERS', 'AssignResult', 'BaseAssigner', 'build_assigner', 'ATSSAssigner', 'MaxIoUAssigner',
           'PointAssigner', 'fcos_assign', 'CenterRegionAssigner', 'ApproxMaxIoUAssigner']
