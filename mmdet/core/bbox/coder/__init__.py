from .delta_xywh import BBOX_CODERS, DeltaXYWHBBoxCoder, build_bbox_coder

__all__ = ['BBOX_CODERS', 'DeltaXYWHBBoxCoder', 'build_bbox_coder']
