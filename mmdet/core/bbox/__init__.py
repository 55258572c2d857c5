from .assigners import BBOX_ASSIGNERS, AssignResult, ATSSAssigner, MaxIoUAssigner, build_assigner, fcos_assign
from .coder import BBOX_CODERS, DeltaXYWHBBoxCoder, build_bbox_coder
from .iou import bbox_overlaps
from .transforms import bbox2distance, bbox2result, bbox_flip, bbox_mapping_back, distance2bbox

__all__ = ['bbox_overlaps', 'distance2bbox', 'bbox2distance', 'bbox2result', 'bbox_flip', 'bbox_mapping_back',
           'fcos_assign', 'BBOX_ASSIGNERS', 'AssignResult', 'ATSSAssigner', 'MaxIoUAssigner', 'build_assigner',
           'BBOX_CODERS', 'DeltaXYWHBBoxCoder', 'build_bbox_coder']
