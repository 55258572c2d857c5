"""AutoAugment for detection (Zoph et al., https://arxiv.org/abs/1906.11172) with MMDetection 2.10's
transforms: ``AutoAugment`` picks one sub-policy (a list of transforms) at random per image; the
transforms ``Shear``, ``Rotate``, ``Translate`` (image and boxes) and ``ColorTransform``,
``EqualizeTransform``, ``BrightnessTransform``, ``ContrastTransform`` (image only) take a ``level``
in [0, 10] that sets their magnitude, and apply with probability ``prob``.

Geometric ones clip the moved boxes to ``img_shape`` and drop the boxes left without width or height
(with their labels).
"""
import copy

import cv2
import numpy as np

from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES, Compose
from .geometric import clip_boxes, filter_small_boxes, reject_masks, warp_boxes
from .photometric import adjust_brightness, adjust_color, adjust_contrast, imequalize
from .transforms import INTERP, check_probability, is_number

MAX_LEVEL = 10


def level_to_value(level, max_value):
    """``level`` in [0, MAX_LEVEL] -> a magnitude in [0, max_value]."""
    return (level / MAX_LEVEL) * max_value


def enhance_level_to_value(level, a=1.8, b=0.1):
    """``level`` in [0, MAX_LEVEL] -> an enhancement factor in [b, a + b] (1 leaves the image as it is)."""
    return (level / MAX_LEVEL) * a + b


def random_negative(value, random_negative_prob):
    """``-value`` with probability ``random_negative_prob``, else ``value``."""
    return -value if np.random.rand() < random_negative_prob else value


def _check_level(owner, level):
    if not (is_number(level) and 0 <= level <= MAX_LEVEL):
        raise InvalidArgumentError(f'{owner} level must be a number in [0, {MAX_LEVEL}], got {level!r}')


def _fill_value(owner, value):
    """img_fill_val: a number or 3 numbers in [0, 255] -> a tuple of 3 floats."""
    if is_number(value):
        value = (value,) * 3
    if not (isinstance(value, (tuple, list)) and len(value) == 3 and all(is_number(v) and 0 <= v <= 255
                                                                          for v in value)):
        raise InvalidArgumentError(
            f'{owner} img_fill_val must be a number or a tuple of 3 numbers, all in [0, 255], got {value!r}')
    return tuple(float(v) for v in value)


def _check_direction(owner, direction):
    if direction not in ('horizontal', 'vertical'):
        raise InvalidArgumentError(f"{owner} direction must be 'horizontal' or 'vertical', got {direction!r}")


def warp_image(img, matrix, border_value, interpolation='bilinear'):
    """``img`` warped by the 2x3 ``matrix`` (source -> destination) into its own size, the uncovered part
    filled with ``border_value`` (one value per channel)."""
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    fill = tuple(border_value)[:channels] if isinstance(border_value, (tuple, list)) else (border_value,) * channels
    return cv2.warpAffine(img, np.asarray(matrix, np.float32), (w, h), flags=INTERP[interpolation],
                          borderValue=fill).astype(img.dtype)


@PIPELINES.register_module()
class AutoAugment:
    """Apply one sub-policy, chosen uniformly at random per image.

    Args:
        policies (list[list[dict]]): the sub-policies; each a non-empty list of transform configs
            (any registered transform), applied in order.

    Example:
        >>> policies = [[dict(type='Rotate', level=8, prob=0.6), dict(type='ColorTransform', level=6, prob=1.0)],
        ...             [dict(type='Shear', level=4, prob=0.4, direction='vertical')]]
        >>> aug = AutoAugment(policies)
    """

    def __init__(self, policies):
        name = type(self).__name__
        if not (isinstance(policies, list) and policies):
            raise InvalidArgumentError(f'{name} policies must be a non-empty list of sub-policies, got {policies!r}')
        for i, policy in enumerate(policies):
            if not (isinstance(policy, list) and policy):
                raise InvalidArgumentError(
                    f'{name} policies[{i}] must be a non-empty list of transform configs, got {policy!r}')
            for j, augment in enumerate(policy):
                if not (isinstance(augment, dict) and 'type' in augment):
                    raise InvalidArgumentError(
                        f"{name} policies[{i}][{j}] must be a dict with a 'type' key, got {augment!r}")
        self.policies = copy.deepcopy(policies)
        self.transforms = [Compose(policy) for policy in self.policies]

    def __call__(self, results):
        return self.transforms[np.random.randint(len(self.transforms))](results)

    def __repr__(self):
        return f'{type(self).__name__}(policies={self.policies})'


class _GeometricAugment:
    """Shared by Shear, Rotate and Translate: probability, fill value, the final box filter."""

    def _check_common(self, level, prob, img_fill_val, random_negative_prob):
        name = type(self).__name__
        _check_level(name, level)
        check_probability(name, 'prob', prob)
        check_probability(name, 'random_negative_prob', random_negative_prob)
        self.level, self.prob, self.random_negative_prob = level, prob, random_negative_prob
        self.img_fill_val = _fill_value(name, img_fill_val)

    def _warp(self, results, matrix, interpolation='bilinear'):
        """Warp every image field by the 2x3 ``matrix``; boxes become the clipped hulls of their corners."""
        reject_masks(type(self).__name__, results)
        for key in results.get('img_fields', ['img']):
            results[key] = warp_image(results[key], matrix, self.img_fill_val, interpolation)
        h, w = results.get('img_shape', results['img'].shape)[:2]
        for key in results.get('bbox_fields', []):
            results[key] = clip_boxes(warp_boxes(results[key], matrix), h, w)
        filter_small_boxes(results, 0)
        return results


@PIPELINES.register_module()
class Shear(_GeometricAugment):
    """Shear the image and boxes: x += m * y (``'horizontal'``) or y += m * x (``'vertical'``), with
    ``m = level / 10 * max_shear_magnitude``, negated with probability ``random_negative_prob``.

    Args:
        level (int | float): in [0, 10].
        img_fill_val (int | float | tuple): fill colour of the uncovered area (one value or three).
        seg_ignore_label (int): kept for 2.x configs (no segmentation maps here).
        prob (float): probability of shearing.
        direction (str): ``'horizontal'`` or ``'vertical'``.
        max_shear_magnitude (float): the magnitude at level 10, in [0, 1].
        random_negative_prob (float): probability of shearing the other way.
        interpolation (str): ``'bilinear'``, ``'nearest'``, ...
    """

    def __init__(self, level, img_fill_val=128, seg_ignore_label=255, prob=0.5, direction='horizontal',
                 max_shear_magnitude=0.3, random_negative_prob=0.5, interpolation='bilinear'):
        name = type(self).__name__
        self._check_common(level, prob, img_fill_val, random_negative_prob)
        _check_direction(name, direction)
        if not (is_number(max_shear_magnitude) and 0 <= max_shear_magnitude <= 1):
            raise InvalidArgumentError(f'{name} max_shear_magnitude must be a number in [0, 1], '
                                       f'got {max_shear_magnitude!r}')
        if interpolation not in INTERP:
            raise InvalidArgumentError(f'{name} interpolation must be one of {sorted(INTERP)}, got {interpolation!r}')
        self.magnitude = level_to_value(level, max_shear_magnitude)
        self.seg_ignore_label, self.direction = seg_ignore_label, direction
        self.max_shear_magnitude, self.interpolation = max_shear_magnitude, interpolation

    def __call__(self, results):
        if np.random.rand() > self.prob:
            return results
        m = random_negative(self.magnitude, self.random_negative_prob)
        matrix = [[1, m, 0], [0, 1, 0]] if self.direction == 'horizontal' else [[1, 0, 0], [m, 1, 0]]
        return self._warp(results, matrix, self.interpolation)

    def __repr__(self):
        return (f'{type(self).__name__}(level={self.level}, img_fill_val={self.img_fill_val}, '
                f'seg_ignore_label={self.seg_ignore_label}, prob={self.prob}, direction={self.direction!r}, '
                f'max_shear_magnitude={self.max_shear_magnitude}, random_negative_prob={self.random_negative_prob}, '
                f'interpolation={self.interpolation!r})')


@PIPELINES.register_module()
class Rotate(_GeometricAugment):
    """Rotate the image and boxes clockwise by ``level / 10 * max_rotate_angle`` degrees (negated with
    probability ``random_negative_prob``) about ``center``, scaling by ``scale``; the boxes become the
    hulls of their rotated corners.

    Args:
        level (int | float): in [0, 10].
        scale (int | float): isotropic scale factor.
        center (int | float | tuple[float] | None): (x, y) of the rotation centre; None: the image centre.
        img_fill_val (int | float | tuple): fill colour of the uncovered area.
        seg_ignore_label (int): kept for 2.x configs.
        prob (float): probability of rotating.
        max_rotate_angle (int | float): the angle at level 10, in degrees.
        random_negative_prob (float): probability of rotating counter-clockwise.
    """

    def __init__(self, level, scale=1, center=None, img_fill_val=128, seg_ignore_label=255, prob=0.5,
                 max_rotate_angle=30, random_negative_prob=0.5):
        name = type(self).__name__
        self._check_common(level, prob, img_fill_val, random_negative_prob)
        if not is_number(scale):
            raise InvalidArgumentError(f'{name} scale must be a number, got {scale!r}')
        if is_number(center):
            center = (center, center)
        elif center is not None and not (isinstance(center, (tuple, list)) and len(center) == 2
                                         and all(is_number(c) for c in center)):
            raise InvalidArgumentError(f'{name} center must be None, a number or (x, y), got {center!r}')
        if not is_number(max_rotate_angle):
            raise InvalidArgumentError(f'{name} max_rotate_angle must be a number, got {max_rotate_angle!r}')
        self.scale, self.center = scale, None if center is None else tuple(center)
        self.seg_ignore_label, self.max_rotate_angle = seg_ignore_label, max_rotate_angle
        self.angle = level_to_value(level, max_rotate_angle)

    def __call__(self, results):
        if np.random.rand() > self.prob:
            return results
        h, w = results['img'].shape[:2]
        center = self.center if self.center is not None else ((w - 1) * 0.5, (h - 1) * 0.5)
        angle = random_negative(self.angle, self.random_negative_prob)
        return self._warp(results, cv2.getRotationMatrix2D(center, -angle, self.scale))

    def __repr__(self):
        return (f'{type(self).__name__}(level={self.level}, scale={self.scale}, center={self.center}, '
                f'img_fill_val={self.img_fill_val}, seg_ignore_label={self.seg_ignore_label}, prob={self.prob}, '
                f'max_rotate_angle={self.max_rotate_angle}, random_negative_prob={self.random_negative_prob})')


@PIPELINES.register_module()
class Translate(_GeometricAugment):
    """Shift the image and boxes by ``int(level / 10 * max_translate_offset)`` pixels (negated with
    probability ``random_negative_prob``) along ``direction``; the moved box sides are clipped to the
    image, and boxes not wider and taller than ``min_size`` afterwards are dropped (those shifted out).

    Args:
        level (int | float): in [0, 10].
        prob (float): probability of translating.
        img_fill_val (int | float | tuple): fill colour of the uncovered area.
        seg_ignore_label (int): kept for 2.x configs.
        direction (str): ``'horizontal'`` or ``'vertical'``.
        max_translate_offset (int | float): the offset at level 10, in pixels.
        random_negative_prob (float): probability of shifting left / up.
        min_size (int | float): boxes must stay wider and taller than this.
    """

    def __init__(self, level, prob=0.5, img_fill_val=128, seg_ignore_label=255, direction='horizontal',
                 max_translate_offset=250., random_negative_prob=0.5, min_size=0):
        name = type(self).__name__
        self._check_common(level, prob, img_fill_val, random_negative_prob)
        _check_direction(name, direction)
        if not is_number(max_translate_offset):
            raise InvalidArgumentError(f'{name} max_translate_offset must be a number, got {max_translate_offset!r}')
        if not (is_number(min_size) and min_size >= 0):
            raise InvalidArgumentError(f'{name} min_size must be a non-negative number, got {min_size!r}')
        self.offset = int(level_to_value(level, max_translate_offset))
        self.seg_ignore_label, self.direction = seg_ignore_label, direction
        self.max_translate_offset, self.min_size = max_translate_offset, min_size

    def __call__(self, results):
        if np.random.rand() > self.prob:
            return results
        reject_masks(type(self).__name__, results)
        offset = random_negative(self.offset, self.random_negative_prob)
        horizontal = self.direction == 'horizontal'
        matrix = [[1, 0, offset], [0, 1, 0]] if horizontal else [[1, 0, 0], [0, 1, offset]]
        for key in results.get('img_fields', ['img']):
            results[key] = warp_image(results[key], matrix, self.img_fill_val)
        h, w = results.get('img_shape', results['img'].shape)[:2]
        lo, hi, size = (0, 2, w) if horizontal else (1, 3, h)
        for key in results.get('bbox_fields', []):
            boxes = results[key].copy()
            boxes[:, lo] = np.maximum(0, boxes[:, lo] + offset)
            boxes[:, hi] = np.minimum(size, boxes[:, hi] + offset)
            results[key] = boxes
        filter_small_boxes(results, self.min_size)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(level={self.level}, prob={self.prob}, img_fill_val={self.img_fill_val}, '
                f'seg_ignore_label={self.seg_ignore_label}, direction={self.direction!r}, '
                f'max_translate_offset={self.max_translate_offset}, '
                f'random_negative_prob={self.random_negative_prob}, min_size={self.min_size})')


class _EnhanceAugment:
    """Shared by the image-only transforms: ``fn(img, factor)`` on every image field with probability
    ``prob``, ``factor = level / 10 * 1.8 + 0.1``; boxes untouched."""

    def __init__(self, level, prob=0.5):
        name = type(self).__name__
        _check_level(name, level)
        check_probability(name, 'prob', prob)
        self.level, self.prob = level, prob
        self.factor = enhance_level_to_value(level)

    def _apply(self, img):
        raise NotImplementedError

    def __call__(self, results):
        if np.random.rand() > self.prob:
            return results
        for key in results.get('img_fields', ['img']):
            img = results[key]
            results[key] = self._apply(img).astype(img.dtype)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(level={self.level}, prob={self.prob})'


@PIPELINES.register_module()
class ColorTransform(_EnhanceAugment):
    """Blend the image with its gray version (factor < 1 desaturates, > 1 saturates)."""

    def _apply(self, img):
        return adjust_color(img, self.factor)


@PIPELINES.register_module()
class BrightnessTransform(_EnhanceAugment):
    """Scale the brightness by the factor (a blend with black)."""

    def _apply(self, img):
        return adjust_brightness(img, self.factor)


@PIPELINES.register_module()
class ContrastTransform(_EnhanceAugment):
    """Blend the image with its mean gray level (factor < 1 lowers the contrast)."""

    def _apply(self, img):
        return adjust_contrast(img, self.factor)


@PIPELINES.register_module()
class EqualizeTransform:
    """Equalise the histogram of each channel, with probability ``prob``; boxes untouched."""

    def __init__(self, prob=0.5):
        check_probability(type(self).__name__, 'prob', prob)
        self.prob = prob

    def __call__(self, results):
        if np.random.rand() > self.prob:
            return results
        for key in results.get('img_fields', ['img']):
            results[key] = imequalize(results[key])
        return results

    def __repr__(self):
        return f'{type(self).__name__}(prob={self.prob})'
