from .anchor_generator import AnchorGenerator, grid_points, valid_grid_flags
from .builder import ANCHOR_GENERATORS, build_anchor_generator
from .utils import anchor_inside_flags, images_to_levels

__all__ = ['ANCHOR_GENERATORS', 'AnchorGenerator', 'build_anchor_generator', 'grid_points',
           'valid_grid_flags', 'anchor_inside_flags', 'images_to_levels']
