"""Distributed helpers at MMDetection 2.x's ``mmdet.core.utils.dist_utils`` path."""
from mmdet.utils.dist import reduce_mean

__all__ = ['reduce_mean']
