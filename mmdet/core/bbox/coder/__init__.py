from ..builder import BBOX_CODERS, build_bbox_coder
from .base_bbox_coder import BaseBBoxCoder
from .bucketing_bbox_coder import BucketingBBoxCoder
from .delta_xywh import DeltaXYWHBBoxCoder
from .tblr_bbox_coder import TBLRBBoxCoder

__all__ = ['BBOX_CODERS', 'BaseBBoxCoder', 'DeltaXYWHBBoxCoder', 'build_bbox_coder', 'TBLRBBoxCoder',
           'BucketingBBoxCoder']
