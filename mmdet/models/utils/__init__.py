"""Model building blocks and helpers at MMDetection 2.x's ``mmdet.models.utils`` path.

``multi_apply``, ``unmap``, ``images_to_levels`` and ``reduce_mean`` (2.x's
``mmdet.core`` helpers, which later MMDetection moved here) are re-exported.
"""
from mmdet.core.anchor import images_to_levels
from mmdet.core.utils import multi_apply, reduce_mean, unmap

from .gaussian_target import gaussian2D, gaussian_radius, gen_gaussian_target
from .res_layer import ResLayer

__all__ = ['ResLayer', 'gaussian2D', 'gaussian_radius', 'gen_gaussian_target', 'multi_apply', 'unmap',
           'images_to_levels', 'reduce_mean']
