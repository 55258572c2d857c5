"""VFNet-X training augmentations: RandomCrop and CutOut."""
import numpy as np

from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES
from .transforms import check_bool, check_probability, is_int, is_number, is_pair

BBOX2LABEL = {'gt_bboxes': 'gt_labels', 'gt_bboxes_ignore': 'gt_labels_ignore'}


@PIPELINES.register_module()
class RandomCrop:
    """Crop a random window, with probability ``crop_p``.

    ``crop_type``: ``absolute`` (h, w) pixels; ``absolute_range`` sides drawn in
    [crop_size[0], crop_size[1]]; ``relative`` a fraction (h, w) of the image;
    ``relative_range`` fractions drawn in [crop_size, 1].  Boxes are shifted and
    clipped; boxes left without area are dropped with their labels.  A crop
    that loses every gt box returns None so the dataset draws another sample
    (unless ``allow_negative_crop``).  ``recompute_bbox`` (2.17+) recomputes boxes from instance masks in
    2.x; it is accepted for 2.x configs and has no effect here (no masks).
    """

    def __init__(self, crop_size, crop_type='absolute', allow_negative_crop=False, recompute_bbox=False,
                 bbox_clip_border=True, crop_p=1.0):
        name = type(self).__name__
        if crop_type not in ('absolute', 'absolute_range', 'relative', 'relative_range'):
            raise InvalidArgumentError(
                f"{name} crop_type must be 'absolute', 'absolute_range', 'relative' or 'relative_range', "
                f'got {crop_type!r}')
        if crop_type in ('absolute', 'absolute_range'):
            if not is_pair(crop_size, lambda x: is_int(x) and x > 0):
                raise InvalidArgumentError(
                    f'{name} crop_size for crop_type={crop_type!r} must be two positive ints, got {crop_size!r}')
            if crop_type == 'absolute_range' and crop_size[0] > crop_size[1]:
                raise InvalidArgumentError(
                    f"{name} crop_size for crop_type='absolute_range' must be (min, max) with min <= max, "
                    f'got {crop_size!r}')
        elif not is_pair(crop_size, lambda x: is_number(x) and 0 < x <= 1):
            raise InvalidArgumentError(
                f'{name} crop_size for crop_type={crop_type!r} must be two numbers in (0, 1], got {crop_size!r}')
        check_probability(name, 'crop_p', crop_p)
        check_bool(name, 'allow_negative_crop', allow_negative_crop)
        check_bool(name, 'bbox_clip_border', bbox_clip_border)
        check_bool(name, 'recompute_bbox', recompute_bbox)
        self.crop_size, self.crop_type, self.recompute_bbox = crop_size, crop_type, recompute_bbox
        self.allow_negative_crop, self.bbox_clip_border, self.crop_p = allow_negative_crop, bbox_clip_border, crop_p

    def _crop_size(self, h, w):
        if self.crop_type == 'absolute':
            return min(self.crop_size[0], h), min(self.crop_size[1], w)
        if self.crop_type == 'absolute_range':
            lo, hi = self.crop_size
            return (np.random.randint(min(h, lo), min(h, hi) + 1), np.random.randint(min(w, lo), min(w, hi) + 1))
        if self.crop_type == 'relative':
            return int(h * self.crop_size[0] + 0.5), int(w * self.crop_size[1] + 0.5)
        size = np.asarray(self.crop_size, dtype=np.float32)
        ch, cw = size + np.random.rand(2) * (1 - size)
        return int(h * ch + 0.5), int(w * cw + 0.5)

    def __call__(self, results):
        if self.crop_p < 1 and np.random.rand() > self.crop_p:
            return results
        img = results['img']
        h, w = img.shape[:2]
        ch, cw = self._crop_size(h, w)
        oy = np.random.randint(0, max(h - ch, 0) + 1)
        ox = np.random.randint(0, max(w - cw, 0) + 1)
        for key in results.get('img_fields', ['img']):
            results[key] = results[key][oy:oy + ch, ox:ox + cw]
        shape = results['img'].shape
        results['img_shape'] = shape
        for key in results.get('bbox_fields', []):
            boxes = results[key] - np.array([ox, oy, ox, oy], dtype=np.float32)
            if self.bbox_clip_border:
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, shape[1])
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, shape[0])
            valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            if key == 'gt_bboxes' and not valid.any() and not self.allow_negative_crop:
                return None
            results[key] = boxes[valid]
            if BBOX2LABEL.get(key) in results:
                results[BBOX2LABEL[key]] = results[BBOX2LABEL[key]][valid]
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(crop_size={self.crop_size}, crop_type={self.crop_type!r}, '
                f'crop_p={self.crop_p})')


def _is_ratio(x):
    return is_number(x) and 0 <= x <= 1


def _is_size(x):
    return is_int(x) and x >= 0


@PIPELINES.register_module()
class CutOut:
    """Fill ``n_holes`` (an int or an inclusive (min, max) range) random
    rectangles with ``fill_in``, with probability ``cutout_p``.  Hole sizes are
    drawn from ``cutout_shape`` (w, h) pixels or ``cutout_ratio`` (w, h) fractions."""

    def __init__(self, n_holes, cutout_shape=None, cutout_ratio=None, fill_in=(0, 0, 0), cutout_p=1.0):
        name = type(self).__name__
        if (cutout_shape is None) == (cutout_ratio is None):
            raise InvalidArgumentError(
                f'{name} needs exactly one of cutout_shape and cutout_ratio, got cutout_shape={cutout_shape!r} '
                f'and cutout_ratio={cutout_ratio!r}')
        if cutout_ratio is not None:
            arg, value, what, ok = 'cutout_ratio', cutout_ratio, 'two numbers in [0, 1]', _is_ratio
        else:
            arg, value, what, ok = 'cutout_shape', cutout_shape, 'two non-negative ints', _is_size
        cands = value if isinstance(value, list) else [value]
        if not isinstance(value, (list, tuple)) or not cands or not all(is_pair(c, ok) for c in cands):
            raise InvalidArgumentError(
                f'{name} {arg} must be a (w, h) tuple of {what} or a non-empty list of such tuples, got {value!r}')
        if isinstance(n_holes, (tuple, list)):
            if not (is_pair(n_holes, is_int) and 0 <= n_holes[0] <= n_holes[1]):
                raise InvalidArgumentError(
                    f'{name} n_holes as a range must be (min, max), two ints with 0 <= min <= max, got {n_holes!r}')
            self.n_holes = tuple(n_holes)
        elif is_int(n_holes) and n_holes >= 0:
            self.n_holes = (n_holes, n_holes)
        else:
            raise InvalidArgumentError(
                f'{name} n_holes must be a non-negative int or a (min, max) tuple of them, got {n_holes!r}')
        check_probability(name, 'cutout_p', cutout_p)
        self.with_ratio = cutout_ratio is not None
        cands = cutout_ratio if self.with_ratio else cutout_shape
        self.candidates = cands if isinstance(cands, list) else [cands]
        self.fill_in, self.cutout_p = fill_in, cutout_p

    def __call__(self, results):
        if self.cutout_p < 1 and np.random.rand() > self.cutout_p:
            return results
        img = results['img']
        h, w = img.shape[:2]
        for _ in range(np.random.randint(self.n_holes[0], self.n_holes[1] + 1)):
            x1, y1 = np.random.randint(0, w), np.random.randint(0, h)
            cw, chh = self.candidates[np.random.randint(0, len(self.candidates))]
            if self.with_ratio:
                cw, chh = int(cw * w), int(chh * h)
            img[y1:min(y1 + chh, h), x1:min(x1 + cw, w)] = self.fill_in
        results['img'] = img
        return results

    def __repr__(self):
        return f'{type(self).__name__}(n_holes={self.n_holes}, candidates={self.candidates}, p={self.cutout_p})'
