import copy
import warnings

from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES, Compose
from .transforms import FLIP_DIRECTIONS, check_bool, is_number, is_scale


def _transform_type(t):
    """The type name of a transform given as a config dict or as a callable."""
    return t.get('type') if isinstance(t, dict) else type(t).__name__


@PIPELINES.register_module()
class MultiScaleFlipAug:
    """Run ``transforms`` once per (scale, flip) view; every output key becomes a list over views."""

    def __init__(self, transforms, img_scale=None, scale_factor=None, flip=False, flip_direction='horizontal'):
        name = type(self).__name__
        if (img_scale is None) == (scale_factor is None):
            raise InvalidArgumentError(
                f'{name} needs exactly one of img_scale and scale_factor, got img_scale={img_scale!r} and '
                f'scale_factor={scale_factor!r}')
        self.transforms = Compose(transforms)
        if img_scale is not None:
            self.img_scale = img_scale if isinstance(img_scale, list) else [img_scale]
            if not self.img_scale or not all(is_scale(s) for s in self.img_scale):
                raise InvalidArgumentError(
                    f'{name} img_scale must be a scale tuple of two positive numbers (e.g. (1333, 800)) or a '
                    f'non-empty list of such tuples, got {img_scale!r}')
            self.scale_key = 'scale'
        else:
            self.img_scale = scale_factor if isinstance(scale_factor, list) else [scale_factor]
            if not self.img_scale or not all(is_number(s) and s > 0 for s in self.img_scale):
                raise InvalidArgumentError(
                    f'{name} scale_factor must be a positive number or a non-empty list of them, '
                    f'got {scale_factor!r}')
            self.scale_key = 'scale_factor'
        check_bool(name, 'flip', flip)
        self.flip = flip
        self.flip_direction = flip_direction if isinstance(flip_direction, list) else [flip_direction]
        if not self.flip_direction or not all(isinstance(d, str) and d in FLIP_DIRECTIONS
                                              for d in self.flip_direction):
            raise InvalidArgumentError(
                f"{name} flip_direction must be 'horizontal', 'vertical' or 'diagonal', or a non-empty list of "
                f'them, got {flip_direction!r}')
        # the 2.x warnings: a setting that has no effect
        if not self.flip and self.flip_direction != ['horizontal']:
            warnings.warn(f'{name}: flip_direction={flip_direction!r} has no effect when flip is set to False')
        if self.flip and not any(_transform_type(t) == 'RandomFlip' for t in transforms):
            warnings.warn(f'{name}: flip has no effect when RandomFlip is not in transforms')

    def __call__(self, results):
        flips = [(False, None)] + ([(True, d) for d in self.flip_direction] if self.flip else [])
        views = []
        for scale in self.img_scale:
            for flip, direction in flips:
                r = copy.deepcopy(results)
                r[self.scale_key] = scale
                r['flip'], r['flip_direction'] = flip, direction
                views.append(self.transforms(r))
        return {k: [v[k] for v in views] for k in views[0]}

    def __repr__(self):
        return f'{type(self).__name__}(transforms={self.transforms}, img_scale={self.img_scale}, flip={self.flip})'
