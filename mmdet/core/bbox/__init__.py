from .assigners import AssignResult, ATSSAssigner, BaseAssigner, MaxIoUAssigner, PointAssigner, fcos_assign
from .builder import (BBOX_ASSIGNERS, BBOX_CODERS, BBOX_SAMPLERS, build_assigner, build_bbox_coder,
                      build_sampler)
from .coder import BaseBBoxCoder, DeltaXYWHBBoxCoder
from .iou_calculators import IOU_CALCULATORS, BboxOverlaps2D, bbox_overlaps, build_iou_calculator
from .samplers import BaseSampler, PseudoSampler, RandomSampler, SamplingResult
from .transforms import bbox2distance, bbox2result, bbox_flip, bbox_mapping_back, distance2bbox

__all__ = ['bbox_overlaps', 'BboxOverlaps2D', 'IOU_CALCULATORS', 'build_iou_calculator', 'distance2bbox',
           'bbox2distance', 'bbox2result', 'bbox_flip', 'bbox_mapping_back', 'fcos_assign', 'BBOX_ASSIGNERS',
           'AssignResult', 'BaseAssigner', 'ATSSAssigner', 'MaxIoUAssigner', 'PointAssigner', 'build_assigner',
           'BBOX_SAMPLERS', 'BaseSampler', 'PseudoSampler', 'RandomSampler', 'SamplingResult', 'build_sampler',
           'BBOX_CODERS', 'BaseBBoxCoder', 'DeltaXYWHBBoxCoder', 'build_bbox_coder']
