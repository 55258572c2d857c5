"""Image + box transforms with MMDetection-2.x semantics (numpy/OpenCV)."""
import cv2
import numpy as np

from mmdet.core.bbox.transforms import bbox_flip

from .compose import PIPELINES

INTERP = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC,
          'area': cv2.INTER_AREA, 'lanczos': cv2.INTER_LANCZOS4}


def rescale_size(old_size, scale):
    """(w, h) -> the largest (w', h') fitting ``scale`` (long, short edge) with the same ratio, and the factor."""
    w, h = old_size
    long_edge, short_edge = max(scale), min(scale)
    factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return (int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)), factor


def imresize(img, size, interpolation='bilinear'):
    return cv2.resize(img, size, interpolation=INTERP[interpolation])


def imflip(img, direction='horizontal'):
    if direction == 'horizontal':
        return np.flip(img, axis=1)
    if direction == 'vertical':
        return np.flip(img, axis=0)
    return np.flip(img, axis=(0, 1))


@PIPELINES.register_module()
class Resize:
    """Resize to a scale chosen from ``img_scale``; boxes follow.

    One scale: fixed.  Several with ``multiscale_mode='range'``: long and short
    edge drawn uniformly between the extremes; ``'value'``: one of them.  With
    ``ratio_range`` the single scale is multiplied by a uniform ratio.  A
    ``scale`` already in ``results`` (set by MultiScaleFlipAug) wins.
    """

    def __init__(self, img_scale=None, multiscale_mode='range', ratio_range=None, keep_ratio=True,
                 bbox_clip_border=True, backend='cv2', override=False, interpolation='bilinear'):
        if img_scale is None:
            self.img_scale = None
        elif isinstance(img_scale, list):
            self.img_scale = [tuple(s) for s in img_scale]
        else:
            self.img_scale = [tuple(img_scale)]
        if multiscale_mode not in ('range', 'value'):
            raise ValueError(f"Resize multiscale_mode must be 'range' or 'value', got '{multiscale_mode}'")
        if ratio_range is not None and self.img_scale is not None and len(self.img_scale) != 1:
            raise ValueError('Resize: ratio_range needs exactly one img_scale')
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
        if 'scale' not in results:
            if 'scale_factor' in results and not self.override:
                h, w = results['img'].shape[:2]
                sf = results['scale_factor']
                sf = sf if np.isscalar(sf) else sf[0]
                results['scale'] = (int(w * sf), int(h * sf))
            else:
                if self.img_scale is None:
                    raise ValueError('Resize needs img_scale (or a scale set by MultiScaleFlipAug)')
                results['scale'] = self._random_scale()
        scale = results['scale']
        for key in results.get('img_fields', ['img']):
            img = results[key]
            h, w = img.shape[:2]
            if self.keep_ratio:
                new_size, _ = rescale_size((w, h), scale)
            else:
                new_size = tuple(scale)
            resized = imresize(img, new_size, self.interpolation)
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
        directions = direction if isinstance(direction, list) else [direction]
        for d in directions:
            if d not in ('horizontal', 'vertical', 'diagonal'):
                raise ValueError(f"RandomFlip direction must be horizontal, vertical or diagonal, got '{d}'")
        if isinstance(flip_ratio, list):
            if len(flip_ratio) != len(directions) or sum(flip_ratio) > 1:
                raise ValueError('RandomFlip: a flip_ratio list needs one ratio per direction, summing to <= 1')
        elif flip_ratio is not None and not 0 <= flip_ratio <= 1:
            raise ValueError(f'RandomFlip flip_ratio must be in [0, 1], got {flip_ratio}')
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
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
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
    """Pad bottom/right to ``size`` (h, w) or to multiples of ``size_divisor``."""

    def __init__(self, size=None, size_divisor=None, pad_val=0):
        if (size is None) == (size_divisor is None):
            raise ValueError('Pad needs exactly one of size and size_divisor')
        self.size, self.size_divisor, self.pad_val = size, size_divisor, pad_val

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            img = results[key]
            h, w = img.shape[:2]
            if self.size is not None:
                th, tw = self.size
            else:
                d = self.size_divisor
                th, tw = int(np.ceil(h / d)) * d, int(np.ceil(w / d)) * d
            if th < h or tw < w:
                raise ValueError(f'Pad size {(th, tw)} is smaller than the image {(h, w)}')
            if (th, tw) == (h, w):
                padded = img
            elif img.ndim == 2 or img.shape[2] <= 4:
                padded = cv2.copyMakeBorder(img, 0, th - h, 0, tw - w, cv2.BORDER_CONSTANT,
                                            value=(self.pad_val,) * 4)
                padded = padded.reshape((th, tw) + img.shape[2:])
            else:
                padded = np.full((th, tw) + img.shape[2:], self.pad_val, dtype=img.dtype)
                padded[:h, :w] = img
            results[key] = padded
        results['pad_shape'] = padded.shape
        results['pad_fixed_size'] = self.size
        results['pad_size_divisor'] = self.size_divisor
        return results

    def __repr__(self):
        return f'{type(self).__name__}(size={self.size}, size_divisor={self.size_divisor}, pad_val={self.pad_val})'
