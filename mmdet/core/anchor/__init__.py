from .anchor_generator import (ANCHOR_GENERATORS, AnchorGenerator, anchor_inside_flags,
                               build_anchor_generator, grid_points, images_to_levels, valid_grid_flags)

__all__ = ['ANCHOR_GENERATORS', 'AnchorGenerator', 'build_anchor_generator', 'grid_points',
           'valid_grid_flags', 'anchor_inside_flags', 'images_to_levels']
