"""2.x's ``mmdet.core.anchor.utils`` import path for the anchor helpers."""
from .anchor_generator import anchor_inside_flags, images_to_levels

__all__ = ['anchor_inside_flags', 'images_to_levels']
