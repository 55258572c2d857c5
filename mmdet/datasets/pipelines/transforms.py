"""Image + box transforms with MMDetection-2.x semantics (numpy/OpenCV).

Bad constructor arguments raise :class:`mmdet.utils.InvalidArgumentError` (a
``ValueError`` and an ``AssertionError``, as 2.x asserted them), naming the
class, the argument and the value.
"""
import numbers

import cv2
import numpy as np

from mmdet.core.bbox.transforms import bbox_flip
from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES

FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')


def is_number(v):
    """A real number (Python or numpy), not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def is_int(v):
    """An integer (Python or numpy), not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def is_bool(v):
    return isinstance(v, (bool, np.bool_))


def is_pair(v, check=is_number):
    """A 2-element tuple/list (or 1-D array) whose items pass ``check``."""
    if isinstance(v, np.ndarray) and v.ndim != 1:
        return False
    return isinstance(v, (tuple, list, np.ndarray)) and len(v) == 2 and all(check(x) for x in v)


def is_scale(v):
    """An image scale: a (long, short) / (w, h) pair of positive numbers."""
    return is_pair(v, lambda x: is_number(x) and x > 0)


def check_bool(owner, name, value):
    if not is_bool(value):
        raise InvalidArgumentError(f'{owner} {name} must be a bool, got {value!r}')


def check_probability(owner, name, value):
    if not (is_number(value) and 0 <= value <= 1):
        raise InvalidArgumentError(f'{owner} {name} must be a number in [0, 1], got {value!r}')

INTERP = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC,
          'area': cv2.INTER_AREA, 'lanczos': cv2.INTER_LANCZOS4}


def rescale_size(old_size, scale):
    """(w, h) -> the largest (w', h') fitting ``scale`` (long, short edge) with the same ratio, and the factor."""
    w, h = old_size
    long_edge, short_edge = max(scale), min(scale)
    factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return (int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)), factor


# mmcv 1.x's Pillow interpolation names (no 'area'; 'box' and 'hamming' instead)
PILLOW_INTERP = ('nearest', 'bilinear', 'bicubic', 'box', 'lanczos', 'hamming')


def imresize(img, size, interpolation='bilinear', backend='cv2'):
    """``img`` (h, w[, c]) resized to ``size`` (w, h) with OpenCV or, as mmcv's ``backend='pillow'``, with
    Pillow (uint8 images of 1, 3 or 4 channels; Pillow's filters give slightly different pixels)."""
    if backend == 'cv2':
        return cv2.resize(img, size, interpolation=INTERP[interpolation])
    from PIL import Image
    if img.dtype != np.uint8 or not (img.ndim == 2 or img.shape[2] in (1, 3, 4)):
        raise InvalidArgumentError(f"Resize backend='pillow' needs a uint8 image of 1, 3 or 4 channels, got "
                                   f'{img.dtype} of shape {img.shape}; use the cv2 backend')
    squeeze = img.ndim == 3 and img.shape[2] == 1
    pil = Image.fromarray(img[..., 0] if squeeze else img)
    out = np.asarray(pil.resize(tuple(size), getattr(Image.Resampling, interpolation.upper())))
    return out[..., None] if squeeze else out


def imflip(img, direction='horizontal'):
    if direction == 'horizontal':
        return np.flip(img, axis=1)
    if direction == 'vertical':
        return np.flip(img, axis=0)
    return np.flip(img, axis=(0, 1))


@PIPELINES.register_module()
class Resize:
    """Resize to a scale chosen from ``img_scale``; boxes follow.

    One scale: fixed.  Two with ``multiscale_mode='range'``: long and short
    edge drawn uniformly between them; several with ``'value'``: one of them.  With
    ``ratio_range`` the single scale is multiplied by a uniform ratio.  A
    ``scale`` already in ``results`` (set by MultiScaleFlipAug) wins; a ``scale_factor`` alone
    (set by a caller) is applied as it is.  A second Resize in a pipeline (after an earlier one set
    both) needs ``override=True``: it then draws its own scale from its ``img_scale`` (2.x's DETR-style
    AutoAugment policies: Resize, RandomCrop, Resize(override=True)); without it, an error.
    ``backend='pillow'`` resizes uint8 images with Pillow as mmcv does (its ``interpolation`` names:
    nearest, bilinear, bicubic, box, lanczos, hamming); the default is OpenCV.
    """

    def __init__(self, img_scale=None, multiscale_mode='range', ratio_range=None, keep_ratio=True,
                 bbox_clip_border=True, backend='cv2', override=False, interpolation='bilinear'):
        name = type(self).__name__
        if img_scale is None:
            self.img_scale = None
        else:
            scales = img_scale if isinstance(img_scale, list) else [img_scale]
            if not scales or not all(is_scale(sc) for sc in scales):
                raise InvalidArgumentError(
                    f'{name} img_scale must be a scale tuple of two positive numbers (e.g. (1333, 800)) or a '
                    f'non-empty list of such tuples, got {img_scale!r}')
            self.img_scale = [tuple(sc) for sc in scales]
        if multiscale_mode not in ('range', 'value'):
            raise InvalidArgumentError(
                f"{name} multiscale_mode must be 'range' or 'value', got {multiscale_mode!r}")
        if ratio_range is not None:
            if self.img_scale is None or len(self.img_scale) != 1:
                raise InvalidArgumentError(
                    f'{name} ratio_range={ratio_range!r} needs img_scale to be a single scale, '
                    f'got img_scale={img_scale!r}')
            if not (is_pair(ratio_range) and 0 < ratio_range[0] <= ratio_range[1]):
                raise InvalidArgumentError(
                    f'{name} ratio_range must be (min_ratio, max_ratio) with 0 < min_ratio <= max_ratio, '
                    f'got {ratio_range!r}')
        elif self.img_scale is not None and multiscale_mode == 'range' and len(self.img_scale) > 2:
            raise InvalidArgumentError(
                f"{name} multiscale_mode='range' takes one scale or two (the bounds of the range), got "
                f"img_scale={img_scale!r} with {len(self.img_scale)} scales; use multiscale_mode='value' to "
                f'choose among them')
        check_bool(name, 'keep_ratio', keep_ratio)
        check_bool(name, 'bbox_clip_border', bbox_clip_border)
        check_bool(name, 'override', override)
        if backend not in ('cv2', 'pillow'):
            raise InvalidArgumentError(f"{name} backend must be 'cv2' or 'pillow', got {backend!r}")
        names = INTERP if backend == 'cv2' else PILLOW_INTERP
        if interpolation not in names:
            raise InvalidArgumentError(
                f'{name} interpolation for backend {backend!r} must be one of {sorted(names)}, got {interpolation!r}')
        self.backend = backend
        self.multiscale_mode, self.ratio_range = multiscale_mode, ratio_range
        self.keep_ratio, self.bbox_clip_border = keep_ratio, bbox_clip_border
        self.override, self.interpolation = override, interpolation

    def _random_scale(self):
        if self.ratio_range is not None:
            lo, hi = self.ratio_range
            ratio = np.random.random_sample() * (hi - lo) + lo
            base = self.img_scale[0]
            return int(base[0] * ratio), int(base[1] * ratio)
        if len(self.img_scale) == 1:
            return self.img_scale[0]
        if self.multiscale_mode == 'range':
            longs = [max(s) for s in self.img_scale]
            shorts = [min(s) for s in self.img_scale]
            return (np.random.randint(min(longs), max(longs) + 1), np.random.randint(min(shorts), max(shorts) + 1))
        return self.img_scale[np.random.randint(len(self.img_scale))]

    def __call__(self, results):
        name = type(self).__name__
        if 'scale' in results and self.override:  # a later Resize of the pipeline draws its own scale
            results.pop('scale')
            results.pop('scale_factor', None)
        elif 'scale' in results and 'scale_factor' in results:
            raise InvalidArgumentError(
                f'{name}: the results already have a scale and a scale_factor (an earlier Resize ran); '
                f'a second Resize in a pipeline needs override=True, as in 2.x')
        if 'scale' not in results:
            if 'scale_factor' in results:
                h, w = results['img'].shape[:2]
                sf = results['scale_factor']
                sf = sf if np.isscalar(sf) else sf[0]
                results['scale'] = (int(w * sf), int(h * sf))
            else:
                if self.img_scale is None:
                    raise InvalidArgumentError(f'{name} needs img_scale (or a scale set by '
                                               f'MultiScaleFlipAug), got img_scale=None')
                results['scale'] = self._random_scale()
        scale = results['scale']
        for key in results.get('img_fields', ['img']):
            img = results[key]
            h, w = img.shape[:2]
            if self.keep_ratio:
                new_size, _ = rescale_size((w, h), scale)
            else:
                new_size = tuple(scale)
            resized = imresize(img, new_size, self.interpolation, self.backend)
            w_scale, h_scale = new_size[0] / w, new_size[1] / h
            results[key] = resized
        results['scale_factor'] = np.array([w_scale, h_scale, w_scale, h_scale], dtype=np.float32)
        results['img_shape'] = resized.shape
        results['pad_shape'] = resized.shape
        results['keep_ratio'] = self.keep_ratio
        for key in results.get('bbox_fields', []):
            boxes = results[key] * results['scale_factor']
            if self.bbox_clip_border:
                hh, ww = resized.shape[:2]
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, ww)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, hh)
            results[key] = boxes
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(img_scale={self.img_scale}, multiscale_mode={self.multiscale_mode!r}, '
                f'ratio_range={self.ratio_range}, keep_ratio={self.keep_ratio})')


@PIPELINES.register_module()
class RandomFlip:
    """Flip with probability ``flip_ratio`` (a float, or a list matching ``direction``)."""

    def __init__(self, flip_ratio=None, direction='horizontal'):
        name = type(self).__name__
        if isinstance(direction, str):
            directions = [direction]
        elif isinstance(direction, list):
            directions = direction
            if not directions:
                raise InvalidArgumentError(f'{name} direction must not be an empty list')
        else:
            raise InvalidArgumentError(
                f'{name} direction must be a str or a list of str, got {direction!r}')
        for d in directions:
            if d not in FLIP_DIRECTIONS:
                raise InvalidArgumentError(
                    f"{name} direction must be 'horizontal', 'vertical' or 'diagonal' (or a list of them), "
                    f'got {d!r}')
        if isinstance(flip_ratio, list):
            if not all(is_number(r) and 0 <= r <= 1 for r in flip_ratio) or not 0 <= sum(flip_ratio) <= 1:
                raise InvalidArgumentError(
                    f'{name} flip_ratio as a list must hold numbers in [0, 1] summing to <= 1, got {flip_ratio!r}')
            if len(flip_ratio) != len(directions):
                raise InvalidArgumentError(
                    f'{name} flip_ratio={flip_ratio!r} needs one ratio per direction, got direction={direction!r}')
        elif flip_ratio is not None and not (is_number(flip_ratio) and 0 <= flip_ratio <= 1):
            raise InvalidArgumentError(
                f'{name} flip_ratio must be None, a number in [0, 1] or a list of them, got {flip_ratio!r}')
        self.flip_ratio, self.direction = flip_ratio, direction

    def _choose(self):
        if isinstance(self.direction, list):
            dirs = self.direction + [None]
        else:
            dirs = [self.direction, None]
        if isinstance(self.flip_ratio, list):
            probs = self.flip_ratio + [1 - sum(self.flip_ratio)]
        elif self.flip_ratio is None:
            return None
        else:
            single = self.flip_ratio / (len(dirs) - 1)
            probs = [single] * (len(dirs) - 1) + [1 - self.flip_ratio]
        return dirs[np.random.choice(len(dirs), p=probs)]

    def __call__(self, results):
        if 'flip' not in results:
            d = self._choose()
            results['flip'] = d is not None
            if 'flip_direction' not in results:
                results['flip_direction'] = d
        if results['flip']:
            d = results['flip_direction']
            for key in results.get('img_fields', ['img']):
                results[key] = np.ascontiguousarray(imflip(results[key], d))
            for key in results.get('bbox_fields', []):
                results[key] = bbox_flip(results[key], results['img_shape'], d)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(flip_ratio={self.flip_ratio}, direction={self.direction!r})'


def imnormalize(img, mean, std, to_rgb=True):
    """float32 ``(img - mean) / std`` (after BGR -> RGB when ``to_rgb``), bit-identical to that numpy
    formula for every input.  Fast paths for 3-channel images: uint8 ones go through a 256-entry table
    per channel (the formula evaluated once per value, then one OpenCV lookup pass); float32 ones are
    converted+subtracted, then divided in place by OpenCV.  Channels are swapped while still uint8."""
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    if img.ndim == 3 and img.shape[2] == 3 and img.dtype in (np.uint8, np.float32) and mean.size == std.size == 3:
        if to_rgb:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if img.dtype == np.uint8:
            values = np.arange(256, dtype=np.float32)[:, None]
            return cv2.LUT(img, ((values - mean) / std).reshape(1, 256, 3))
        out = cv2.subtract(img, _scalar(mean), dtype=cv2.CV_32F)
        cv2.divide(out, _scalar(std), dst=out)
        return out
    out = img.astype(np.float32)
    if to_rgb and out.ndim == 3:
        out = out[..., ::-1]
    return (out - mean) / std


def _scalar(values):
    return tuple(float(v) for v in values) + (0.0,) * (4 - len(values))


@PIPELINES.register_module()
class Normalize:
    """(img - mean) / std in float32, after BGR -> RGB when ``to_rgb``."""

    def __init__(self, mean, std, to_rgb=True):
        name = type(self).__name__
        arrays = {}
        for key, value in (('mean', mean), ('std', std)):
            try:
                arr = np.array(value, dtype=np.float32)
            except (TypeError, ValueError):
                arr = None
            if arr is None or arr.ndim > 1 or arr.size == 0 or not np.isfinite(arr).all():
                raise InvalidArgumentError(
                    f'{name} {key} must be a number or a sequence of finite numbers (one per channel), '
                    f'got {value!r}')
            arrays[key] = arr
        if arrays['mean'].size != arrays['std'].size and 1 not in (arrays['mean'].size, arrays['std'].size):
            raise InvalidArgumentError(
                f'{name} mean and std must have the same number of channels, got mean={mean!r} and std={std!r}')
        if (arrays['std'] == 0).any():
            raise InvalidArgumentError(f'{name} std must not contain 0, got {std!r}')
        check_bool(name, 'to_rgb', to_rgb)
        self.mean, self.std = arrays['mean'], arrays['std']
        self.to_rgb = to_rgb

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            results[key] = imnormalize(results[key], self.mean, self.std, self.to_rgb)
        results['img_norm_cfg'] = dict(mean=self.mean, std=self.std, to_rgb=self.to_rgb)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(mean={self.mean.tolist()}, std={self.std.tolist()}, to_rgb={self.to_rgb})'


@PIPELINES.register_module()
class Pad:
    """Pad the image bottom/right: to ``size`` (h, w), to multiples of ``size_divisor``, or to a square
    of its longer side (``pad_to_square=True``, YOLOX).  Exactly one of the three.

    ``pad_val``: the fill of the image, a number or one per channel (``(114, 114, 114)``), or 2.x's
    dict form ``dict(img=..., masks=..., seg=...)`` of which the ``img`` value is used (this toolbox has
    no masks or segmentation maps).  As mmcv 1.x, an image already larger than ``size`` along an axis is
    not padded (nor cropped) along it.  Sets ``pad_shape``, ``pad_fixed_size`` and ``pad_size_divisor``.
    """

    def __init__(self, size=None, size_divisor=None, pad_to_square=False, pad_val=0):
        name = type(self).__name__
        check_bool(name, 'pad_to_square', pad_to_square)
        given = [k for k, v in (('size', size), ('size_divisor', size_divisor)) if v is not None]
        if pad_to_square and given:
            raise InvalidArgumentError(f'{name} pad_to_square=True takes no {given[0]}, got {given[0]}='
                                       f'{size if given[0] == "size" else size_divisor!r}')
        if not pad_to_square and len(given) != 1:
            raise InvalidArgumentError(
                f'{name} needs exactly one of size, size_divisor and pad_to_square=True, got size={size!r} and '
                f'size_divisor={size_divisor!r}')
        if size is not None and not is_pair(size, lambda x: is_int(x) and x > 0):
            raise InvalidArgumentError(f'{name} size must be (h, w), two positive ints, got {size!r}')
        if size_divisor is not None and not (is_int(size_divisor) and size_divisor > 0):
            raise InvalidArgumentError(f'{name} size_divisor must be a positive int, got {size_divisor!r}')
        img_val = pad_val
        if isinstance(pad_val, dict):
            unknown = sorted(set(pad_val) - {'img', 'masks', 'seg'})
            if unknown:
                raise InvalidArgumentError(f"{name} pad_val keys are 'img', 'masks' and 'seg', got {unknown}")
            img_val = pad_val.get('img', 0)
        if isinstance(img_val, (tuple, list)):
            if not img_val or not all(is_number(v) for v in img_val):
                raise InvalidArgumentError(f'{name} pad_val for the image must be a number or one number per '
                                           f'channel, got {img_val!r}')
            img_val = tuple(img_val)
        elif not is_number(img_val):
            raise InvalidArgumentError(f'{name} pad_val must be a number, a tuple of one per channel, or '
                                       f'dict(img=...), got {pad_val!r}')
        self.size, self.size_divisor, self.pad_to_square = size, size_divisor, pad_to_square
        self.pad_val, self.img_pad_val = pad_val, img_val

    def _target(self, h, w):
        if self.pad_to_square:
            return max(h, w), max(h, w)
        if self.size is not None:
            return max(self.size[0], h), max(self.size[1], w)
        d = self.size_divisor
        return int(np.ceil(h / d)) * d, int(np.ceil(w / d)) * d

    def _pad(self, img, th, tw):
        h, w = img.shape[:2]
        channels = 1 if img.ndim == 2 else img.shape[2]
        val = self.img_pad_val
        if isinstance(val, tuple) and len(val) != channels:
            raise InvalidArgumentError(f'{type(self).__name__} pad_val {val!r} has {len(val)} values for an image '
                                       f'of {channels} channels')
        if (th, tw) == (h, w):
            return img
        if channels <= 4:
            fill = val + (0,) * (4 - len(val)) if isinstance(val, tuple) else (val,) * 4
            padded = cv2.copyMakeBorder(img, 0, th - h, 0, tw - w, cv2.BORDER_CONSTANT, value=fill)
            return padded.reshape((th, tw) + img.shape[2:])
        padded = np.empty((th, tw) + img.shape[2:], dtype=img.dtype)
        padded[...] = np.asarray(val, dtype=img.dtype)
        padded[:h, :w] = img
        return padded

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            img = results[key]
            th, tw = self._target(*img.shape[:2])
            results[key] = padded = self._pad(img, th, tw)
        results['pad_shape'] = padded.shape
        results['pad_fixed_size'] = padded.shape[:2] if self.pad_to_square else self.size
        results['pad_size_divisor'] = self.size_divisor
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(size={self.size}, size_divisor={self.size_divisor}, '
                f'pad_to_square={self.pad_to_square}, pad_val={self.pad_val})')
