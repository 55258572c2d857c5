"""Transforms that move pixels and boxes together: ``Expand``, ``MinIoURandomCrop`` and
``RandomCenterCropPad`` (MMDetection 2.10), ``RandomShift`` (2.12), ``RandomAffine`` (2.28), and the box
helpers the AutoAugment and mixing transforms share.

Boxes are ``(n, 4)`` float32 ``[x1, y1, x2, y2]`` arrays under each key of ``results['bbox_fields']``;
removing a box removes its label (``gt_labels`` for ``gt_bboxes``, ``gt_labels_ignore`` for
``gt_bboxes_ignore``).  This toolbox is box-only: a ``results`` carrying masks or segmentation maps is
refused.  Random numbers come from ``np.random`` in the order 2.x draws them.
"""
import math

import cv2
import numpy as np
import torch

from mmdet.core.bbox.iou import bbox_overlaps
from mmdet.utils.errors import InvalidArgumentError

from .augment import BBOX2LABEL
from .compose import PIPELINES
from .photometric import check_single_img
from .transforms import check_bool, check_probability, is_int, is_number, is_pair


# ---------------------------------------------------------------- box helpers
def keep_boxes(results, key, keep):
    """``results[key]`` and its label field indexed by ``keep`` (a bool mask or indices)."""
    results[key] = results[key][keep]
    label_key = BBOX2LABEL.get(key)
    if label_key in results:
        results[label_key] = results[label_key][keep]


def filter_small_boxes(results, min_size=0):
    """Drop, in every bbox field, the boxes whose width or height is not above ``min_size``."""
    for key in results.get('bbox_fields', []):
        boxes = results[key]
        keep_boxes(results, key, ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size))


def find_inside_bboxes(bboxes, img_h, img_w):
    """(n,) bool: the boxes that overlap the image ``[0, img_w] x [0, img_h]`` (not entirely outside it)."""
    return (bboxes[:, 0] < img_w) & (bboxes[:, 2] > 0) & (bboxes[:, 1] < img_h) & (bboxes[:, 3] > 0)


def centers_inside(bboxes, patch):
    """(n,) bool: the boxes whose centre lies strictly inside ``patch`` = (x1, y1, x2, y2)."""
    center = (bboxes[:, :2] + bboxes[:, 2:]) / 2
    return ((center[:, 0] > patch[0]) & (center[:, 1] > patch[1]) & (center[:, 0] < patch[2]) &
            (center[:, 1] < patch[3]))


def warp_boxes(bboxes, matrix):
    """The axis-aligned boxes around the four corners of each of ``bboxes`` (n, 4) mapped by ``matrix``
    (a 2x3 affine or 3x3 projective matrix, source -> destination, as ``cv2.warpAffine`` /
    ``cv2.warpPerspective`` take it).  Returns (n, 4) in the dtype of ``bboxes``."""
    n = len(bboxes)
    matrix = np.asarray(matrix, dtype=np.float64)
    xs = bboxes[:, [0, 2, 0, 2]].reshape(-1).astype(np.float64)
    ys = bboxes[:, [1, 1, 3, 3]].reshape(-1).astype(np.float64)
    mapped = matrix @ np.stack([xs, ys, np.ones_like(xs)])
    if matrix.shape[0] == 3:
        mapped = mapped[:2] / mapped[2]
    px, py = mapped[0].reshape(n, 4), mapped[1].reshape(n, 4)
    return np.stack([px.min(1), py.min(1), px.max(1), py.max(1)], axis=1).astype(bboxes.dtype)


def clip_boxes(bboxes, img_h, img_w):
    """``bboxes`` (n, 4) clipped to ``[0, img_w] x [0, img_h]``, in place; returned."""
    np.clip(bboxes[:, 0::2], 0, img_w, out=bboxes[:, 0::2])
    np.clip(bboxes[:, 1::2], 0, img_h, out=bboxes[:, 1::2])
    return bboxes


def reject_masks(owner, results):
    """This toolbox transforms boxes only: refuse a ``results`` carrying masks or segmentation maps."""
    for key in ('mask_fields', 'seg_fields'):
        if results.get(key):
            raise NotImplementedError(f'{owner} transforms images and boxes only; got {key}={results[key]!r}')


def _three_values(owner, name, value):
    """A number or a sequence of 3 numbers -> a tuple of 3 floats."""
    if is_number(value):
        return (float(value),) * 3
    if isinstance(value, (tuple, list, np.ndarray)) and len(value) == 3 and all(is_number(v) for v in value):
        return tuple(float(v) for v in value)
    raise InvalidArgumentError(f'{owner} {name} must be a number or 3 numbers (one per channel), got {value!r}')


# ---------------------------------------------------------------- transforms
@PIPELINES.register_module()
class Expand:
    """With probability ``prob``, place the image at a random spot of a canvas ``ratio`` times its size
    (``ratio`` uniform in ``ratio_range``) filled with ``mean``; boxes are shifted with it (SSD's zoom out).

    Args:
        mean (sequence[float]): the canvas colour, in RGB order when ``to_rgb`` (as ``Normalize``'s mean:
            it is reversed for the BGR image).
        to_rgb (bool): whether ``mean`` is in RGB order.
        ratio_range (tuple[float]): (min, max) canvas / image size ratio, min >= 1.
        seg_ignore_label (int | None): kept for 2.x configs (no segmentation maps here).
        prob (float): probability of expanding.
    """

    def __init__(self, mean=(0, 0, 0), to_rgb=True, ratio_range=(1, 4), seg_ignore_label=None, prob=0.5):
        name = type(self).__name__
        if not (isinstance(mean, (tuple, list, np.ndarray)) and len(mean) > 0 and all(is_number(m) for m in mean)):
            raise InvalidArgumentError(f'{name} mean must be a sequence of numbers (one per channel), got {mean!r}')
        check_bool(name, 'to_rgb', to_rgb)
        if not (is_pair(ratio_range) and 1 <= ratio_range[0] <= ratio_range[1]):
            raise InvalidArgumentError(
                f'{name} ratio_range must be (min_ratio, max_ratio) with 1 <= min_ratio <= max_ratio, '
                f'got {ratio_range!r}')
        check_probability(name, 'prob', prob)
        self.to_rgb, self.ratio_range, self.prob = to_rgb, ratio_range, prob
        self.mean = tuple(mean[::-1]) if to_rgb else tuple(mean)
        self.min_ratio, self.max_ratio = ratio_range
        self.seg_ignore_label = seg_ignore_label

    def __call__(self, results):
        if np.random.uniform(0, 1) > self.prob:
            return results
        name = type(self).__name__
        check_single_img(name, results)
        reject_masks(name, results)
        img = results['img']
        h, w, c = img.shape
        if c != len(self.mean):
            raise InvalidArgumentError(f'{name} mean has {len(self.mean)} values for an image of {c} channels')
        ratio = np.random.uniform(self.min_ratio, self.max_ratio)
        canvas = np.empty((int(h * ratio), int(w * ratio), c), img.dtype)
        canvas[...] = np.asarray(self.mean, dtype=np.float64).astype(img.dtype)
        left = int(np.random.uniform(0, w * ratio - w))
        top = int(np.random.uniform(0, h * ratio - h))
        canvas[top:top + h, left:left + w] = img
        results['img'] = canvas
        results['img_shape'] = canvas.shape
        for key in results.get('bbox_fields', []):
            results[key] = results[key] + np.array([left, top, left, top], dtype=results[key].dtype)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(mean={self.mean}, to_rgb={self.to_rgb}, ratio_range={self.ratio_range}, '
                f'seg_ignore_label={self.seg_ignore_label}, prob={self.prob})')


@PIPELINES.register_module()
class MinIoURandomCrop:
    """SSD's crop (2.x's rule): draw a mode uniformly from ``sample_mode`` = (1, *min_ious, 0).  Mode 1
    returns ``results`` unchanged.  Any other mode is a minimum IoU: up to 50 crops are drawn, each as

    1. ``new_w ~ U(min_crop_size * w, w)``, ``new_h ~ U(min_crop_size * h, h)``; rejected unless the aspect
       ``new_h / new_w`` is in [0.5, 2];
    2. ``left = np.random.uniform(w - new_w)``, ``top = np.random.uniform(h - new_h)`` (as 2.x: the
       argument is numpy's ``low``, ``high`` stays 1, so ``left`` lies between 1 and ``w - new_w``); the
       crop is ``patch = (int(left), int(top), int(left + new_w), int(top + new_h))`` (truncated),
       rejected if it has zero width or height;
    3. accepted when the IoU of ``patch`` with every box of every bbox field (``gt_bboxes_ignore``
       included) is at least the mode (``IoU >= min_iou``: intersection over the *union*, so the crop must
       not be much larger than any box either) and some box centre lies strictly inside ``patch``.

    If none of the 50 is accepted, a mode is drawn again.  With no boxes at all, the first crop passing
    1-2 is taken.  In each bbox field the boxes whose centre is not strictly inside ``patch`` are dropped
    (with their ``gt_labels`` / ``gt_labels_ignore``); the others are clipped to ``patch`` when
    ``bbox_clip_border`` and shifted by ``-(patch x1, y1)``.  The image becomes
    ``img[y1:y2, x1:x2]``; ``img_shape`` is updated.

    Should 1000 modes in a row find no crop (only reachable when ``sample_mode`` was edited to leave out
    1 and its thresholds cannot be met, where 2.x loops forever), a ``RuntimeError`` is raised.

    Args:
        min_ious (tuple[float]): the minimum IoU thresholds to choose from, each in [0, 1].
        min_crop_size (float): the smallest crop side, as a fraction of the image side, in (0, 1].
        bbox_clip_border (bool): clip the kept boxes to the crop.
    """

    MAX_ROUNDS = 1000

    def __init__(self, min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3, bbox_clip_border=True):
        name = type(self).__name__
        if not (isinstance(min_ious, (tuple, list)) and all(is_number(v) and 0 <= v <= 1 for v in min_ious)):
            raise InvalidArgumentError(f'{name} min_ious must be a sequence of numbers in [0, 1], got {min_ious!r}')
        if not (is_number(min_crop_size) and 0 < min_crop_size <= 1):
            raise InvalidArgumentError(f'{name} min_crop_size must be a number in (0, 1], got {min_crop_size!r}')
        check_bool(name, 'bbox_clip_border', bbox_clip_border)
        self.min_ious, self.min_crop_size, self.bbox_clip_border = min_ious, min_crop_size, bbox_clip_border
        self.sample_mode = (1, *min_ious, 0)

    def _sample_patch(self, boxes, h, w, min_iou):
        """A crop (x1, y1, x2, y2) (int64) meeting ``min_iou`` for ``boxes`` (n, 4), or None after 50 tries."""
        boxes32 = torch.from_numpy(np.ascontiguousarray(boxes, dtype=np.float32))
        for _ in range(50):
            new_w = np.random.uniform(self.min_crop_size * w, w)
            new_h = np.random.uniform(self.min_crop_size * h, h)
            if new_h / new_w < 0.5 or new_h / new_w > 2:
                continue
            left = np.random.uniform(w - new_w)
            top = np.random.uniform(h - new_h)
            patch = np.array((int(left), int(top), int(left + new_w), int(top + new_h)))
            if patch[2] == patch[0] or patch[3] == patch[1]:  # a line or a point
                continue
            if len(boxes):
                ious = bbox_overlaps(torch.from_numpy(patch[None].astype(np.float32)), boxes32, mode='iou')
                if ious.min() < min_iou or not centers_inside(boxes, patch).any():
                    continue
            return patch
        return None

    def __call__(self, results):
        name = type(self).__name__
        check_single_img(name, results)
        reject_masks(name, results)
        img = results['img']
        h, w = img.shape[:2]
        fields = results.get('bbox_fields', [])
        boxes = np.concatenate([results[k] for k in fields], 0) if fields else np.zeros((0, 4), np.float32)
        for _ in range(self.MAX_ROUNDS):
            mode = self.sample_mode[np.random.randint(len(self.sample_mode))]
            if mode == 1:
                return results
            patch = self._sample_patch(boxes, h, w, mode)
            if patch is not None:
                break
        else:
            raise RuntimeError(f'{name} found no crop in {self.MAX_ROUNDS} rounds of sample_mode='
                               f'{self.sample_mode!r}: keep 1 (return the image) among the modes')
        if len(boxes):
            for key in fields:
                keep_boxes(results, key, centers_inside(results[key], patch))
                cropped = results[key].copy()
                if self.bbox_clip_border:
                    cropped[:, 2:] = cropped[:, 2:].clip(max=patch[2:])
                    cropped[:, :2] = cropped[:, :2].clip(min=patch[:2])
                results[key] = cropped - np.tile(patch[:2], 2).astype(cropped.dtype)
        results['img'] = img[patch[1]:patch[3], patch[0]:patch[2]]
        results['img_shape'] = results['img'].shape
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(min_ious={self.min_ious}, min_crop_size={self.min_crop_size}, '
                f'bbox_clip_border={self.bbox_clip_border})')


@PIPELINES.register_module()
class RandomShift:
    """YOLOF's shift (2.12+): with probability ``shift_ratio``, move the image and its boxes by
    ``(dx, dy)`` pixels, each drawn as ``np.random.randint(-max_shift_px, max_shift_px)`` (so in
    ``[-max_shift_px, max_shift_px - 1]``: the upper bound is exclusive, as in 2.x).  The image keeps its
    size: it is pasted, shifted, onto zeros (what leaves it is lost).  In each bbox field the boxes are
    shifted, clipped to the image and kept only when both their width and height are above
    ``filter_thr_px`` (their ``gt_labels`` / ``gt_labels_ignore`` with them).

    When ``gt_bboxes`` is a bbox field and none of its boxes survives (also when it has no box at all),
    the sample is left entirely unshifted: image and every bbox field.  2.x returns early in that case
    too, but leaves the fields it had already shifted (those listed before ``gt_bboxes``) shifted; that
    bug is not reproduced.

    Args:
        shift_ratio (float): probability of shifting, in [0, 1].
        max_shift_px (int): the shift bound (see above), >= 1.
        filter_thr_px (int): boxes not wider and taller than this after the shift are dropped, >= 0.
    """

    def __init__(self, shift_ratio=0.5, max_shift_px=32, filter_thr_px=1):
        name = type(self).__name__
        check_probability(name, 'shift_ratio', shift_ratio)
        if not (is_int(max_shift_px) and max_shift_px >= 1):
            raise InvalidArgumentError(f'{name} max_shift_px must be an int >= 1 (shifts are drawn in '
                                       f'[-max_shift_px, max_shift_px)), got {max_shift_px!r}')
        if not (is_int(filter_thr_px) and filter_thr_px >= 0):
            raise InvalidArgumentError(f'{name} filter_thr_px must be a non-negative int, got {filter_thr_px!r}')
        self.shift_ratio, self.max_shift_px, self.filter_thr_px = shift_ratio, int(max_shift_px), int(filter_thr_px)

    @staticmethod
    def _shift_img(img, dx, dy):
        """``img`` (h, w, ...) moved by (dx, dy) onto zeros of its shape."""
        h, w = img.shape[:2]
        out = np.zeros_like(img)
        sw, sh = w - abs(dx), h - abs(dy)
        if sw > 0 and sh > 0:
            out[max(dy, 0):max(dy, 0) + sh, max(dx, 0):max(dx, 0) + sw] = \
                img[max(-dy, 0):max(-dy, 0) + sh, max(-dx, 0):max(-dx, 0) + sw]
        return out

    def __call__(self, results):
        if not np.random.random() < self.shift_ratio:
            return results
        name = type(self).__name__
        check_single_img(name, results)
        reject_masks(name, results)
        dx = int(np.random.randint(-self.max_shift_px, self.max_shift_px))
        dy = int(np.random.randint(-self.max_shift_px, self.max_shift_px))
        h, w = results['img'].shape[:2]
        shifted = {}
        for key in results.get('bbox_fields', []):
            boxes = results[key]
            moved = clip_boxes(boxes + np.array([dx, dy, dx, dy], dtype=boxes.dtype), h, w)
            valid = ((moved[:, 2] - moved[:, 0]) > self.filter_thr_px) & \
                ((moved[:, 3] - moved[:, 1]) > self.filter_thr_px)
            if key == 'gt_bboxes' and not valid.any():
                return results  # no gt box left: nothing is shifted
            shifted[key] = (moved, valid)
        for key, (moved, valid) in shifted.items():
            results[key] = moved
            keep_boxes(results, key, valid)
        results['img'] = self._shift_img(results['img'], dx, dy)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(shift_ratio={self.shift_ratio}, max_shift_px={self.max_shift_px}, '
                f'filter_thr_px={self.filter_thr_px})')


@PIPELINES.register_module()
class RandomCenterCropPad:
    """CornerNet's crop-and-pad: the output window, centred on a random point of the image, may reach past
    the image; what lies outside it is filled with ``mean``.

    Train mode (``test_mode=False``): the output is ``crop_size * ratio`` (h, w) with ``ratio`` drawn from
    ``ratios``; the centre is drawn at least a border away from the image sides (``border`` halved until
    the centre range is not empty).  Boxes whose centre falls outside the window are dropped, the others
    shifted and (``bbox_clip_border``) clipped; up to 50 centres are drawn per ratio until a box is kept.

    Test mode: the whole image is padded around its centre to ``h | 127`` (``'logical_or'``, plus
    ``test_pad_add_pix``) or the next multiple of the divisor (``'size_divisor'``); ``results['border']``
    holds where the image is in the output (top, bottom, left, right).

    Args:
        crop_size (tuple[int] | None): (h, w) in train mode; None in test mode.
        ratios (tuple[float] | None): the size ratios to draw from in train mode; None in test mode.
        border (int | None): the initial distance of the centre from the image sides; None in test mode.
        mean, std (sequence[float]): as ``Normalize``'s (RGB if ``to_rgb``); ``mean`` is the fill colour.
        to_rgb (bool): as ``Normalize``'s.
        test_mode (bool): see above.
        test_pad_mode (tuple): ``('logical_or', 127)`` or ``('size_divisor', d)``; None in train mode.
        test_pad_add_pix (int): pixels added to the ``'logical_or'`` size (2.28).
        bbox_clip_border (bool): clip the boxes to the window.
    """

    def __init__(self, crop_size=None, ratios=(0.9, 1.0, 1.1), border=128, mean=None, std=None, to_rgb=None,
                 test_mode=False, test_pad_mode=('logical_or', 127), test_pad_add_pix=0, bbox_clip_border=True):
        name = type(self).__name__
        check_bool(name, 'test_mode', test_mode)
        if test_mode:
            for arg, value in (('crop_size', crop_size), ('ratios', ratios), ('border', border)):
                if value is not None:
                    raise InvalidArgumentError(f'{name} {arg} must be None in test mode, got {value!r}')
            if not (isinstance(test_pad_mode, (tuple, list)) and len(test_pad_mode) == 2
                    and test_pad_mode[0] in ('logical_or', 'size_divisor') and is_int(test_pad_mode[1])
                    and test_pad_mode[1] > 0):
                raise InvalidArgumentError(
                    f"{name} test_pad_mode must be ('logical_or', int) or ('size_divisor', int), "
                    f'got {test_pad_mode!r}')
        else:
            if not is_pair(crop_size, lambda x: is_int(x) and x > 0):
                raise InvalidArgumentError(f'{name} crop_size must be (h, w), two positive ints in train mode, '
                                           f'got {crop_size!r}')
            if not (isinstance(ratios, (tuple, list)) and ratios and all(is_number(r) and r > 0 for r in ratios)):
                raise InvalidArgumentError(f'{name} ratios must be a non-empty sequence of positive numbers, '
                                           f'got {ratios!r}')
            if not (is_int(border) and border >= 0):
                raise InvalidArgumentError(f'{name} border must be a non-negative int, got {border!r}')
            if test_pad_mode is not None:
                raise InvalidArgumentError(f'{name} test_pad_mode must be None in train mode, got {test_pad_mode!r}')
        if mean is None or std is None or to_rgb is None:
            raise InvalidArgumentError(
                f'{name} needs mean, std and to_rgb (the same as Normalize), got mean={mean!r}, std={std!r}, '
                f'to_rgb={to_rgb!r}')
        check_bool(name, 'to_rgb', to_rgb)
        check_bool(name, 'bbox_clip_border', bbox_clip_border)
        self.crop_size, self.ratios, self.border = crop_size, ratios, border
        self.input_mean, self.input_std, self.to_rgb = mean, std, to_rgb
        self.mean = tuple(mean[::-1]) if to_rgb else tuple(mean)
        self.std = tuple(std[::-1]) if to_rgb else tuple(std)
        self.test_mode, self.test_pad_mode, self.test_pad_add_pix = test_mode, test_pad_mode, test_pad_add_pix
        self.bbox_clip_border = bbox_clip_border

    @staticmethod
    def _get_border(border, size):
        """``border`` divided by the power of two that leaves a non-empty centre range in ``size``."""
        if border == 0:
            return 0
        k = 2 * border / size
        i = pow(2, np.ceil(np.log2(np.ceil(k))) + (k == int(k)))
        return border // i

    def _crop_image_and_paste(self, image, center, size):
        """The (target_h, target_w) window of ``image`` centred on ``center`` = (y, x), outside filled with
        ``mean``; also where the image lies in it (top, bottom, left, right) and the part of the image
        taken, (x0, y0, x1, y1)."""
        center_y, center_x = center
        target_h, target_w = size
        img_h, img_w, img_c = image.shape
        x0, x1 = max(0, center_x - target_w // 2), min(center_x + target_w // 2, img_w)
        y0, y1 = max(0, center_y - target_h // 2), min(center_y + target_h // 2, img_h)
        patch = np.array((int(x0), int(y0), int(x1), int(y1)))
        left, right, top, bottom = center_x - x0, x1 - center_x, center_y - y0, y1 - center_y
        cy, cx = target_h // 2, target_w // 2
        out = np.empty((target_h, target_w, img_c), dtype=image.dtype)
        out[...] = np.asarray(self.mean, dtype=image.dtype)
        out[cy - top:cy + bottom, cx - left:cx + right] = image[y0:y1, x0:x1]
        border = np.array([cy - top, cy + bottom, cx - left, cx + right], dtype=np.float32)
        return out, border, patch

    def _train_aug(self, results):
        img = results['img']
        h, w = img.shape[:2]
        boxes = results['gt_bboxes']
        while True:
            scale = self.ratios[np.random.randint(len(self.ratios))]
            new_h, new_w = int(self.crop_size[0] * scale), int(self.crop_size[1] * scale)
            h_border, w_border = int(self._get_border(self.border, h)), int(self._get_border(self.border, w))
            for _ in range(50):
                center_x = np.random.randint(low=w_border, high=w - w_border)
                center_y = np.random.randint(low=h_border, high=h - h_border)
                cropped, _, patch = self._crop_image_and_paste(img, [center_y, center_x], [new_h, new_w])
                if len(boxes) > 0 and not centers_inside(boxes, patch).any():
                    continue
                results['img'] = cropped
                results['img_shape'] = results['pad_shape'] = cropped.shape
                shift = np.array([new_w // 2 - center_x, new_h // 2 - center_y] * 2, dtype=np.float32)
                for key in results.get('bbox_fields', []):
                    keep_boxes(results, key, centers_inside(results[key], patch))
                    shifted = results[key] + shift.astype(results[key].dtype)
                    if self.bbox_clip_border:
                        clip_boxes(shifted, new_h, new_w)
                    results[key] = shifted
                    keep_boxes(results, key, (shifted[:, 2] > shifted[:, 0]) & (shifted[:, 3] > shifted[:, 1]))
                return results

    def _test_aug(self, results):
        img = results['img']
        h, w = img.shape[:2]
        results['img_shape'] = img.shape
        mode, value = self.test_pad_mode
        if mode == 'logical_or':
            target_h, target_w = (h | value) + self.test_pad_add_pix, (w | value) + self.test_pad_add_pix
        else:
            target_h, target_w = int(np.ceil(h / value)) * value, int(np.ceil(w / value)) * value
        cropped, border, _ = self._crop_image_and_paste(img, [h // 2, w // 2], [target_h, target_w])
        results['img'] = cropped
        results['pad_shape'] = cropped.shape
        results['border'] = border
        return results

    def __call__(self, results):
        name = type(self).__name__
        reject_masks(name, results)
        img = results['img']
        if img.dtype != np.float32:
            raise InvalidArgumentError(
                f'{name} needs a float32 image, got {img.dtype}: set to_float32=True in LoadImageFromFile')
        if img.ndim != 3 or img.shape[2] != len(self.mean):
            raise InvalidArgumentError(f'{name} mean has {len(self.mean)} values for an image of shape {img.shape}')
        return self._test_aug(results) if self.test_mode else self._train_aug(results)

    def __repr__(self):
        return (f'{type(self).__name__}(crop_size={self.crop_size}, ratios={self.ratios}, border={self.border}, '
                f'mean={self.input_mean}, std={self.input_std}, to_rgb={self.to_rgb}, test_mode={self.test_mode}, '
                f'test_pad_mode={self.test_pad_mode}, bbox_clip_border={self.bbox_clip_border})')


@PIPELINES.register_module()
class RandomAffine:
    """A random affine warp (YOLOX's): scale, then rotate, then shear, then translate, all about the image
    origin (top-left), into an output of the input size plus ``2 * border`` (h, w) (a negative border
    crops: ``(-s // 2, -s // 2)`` after a ``Mosaic`` of ``img_scale=(s, s)`` gives an s x s image).

    Boxes are the hulls of their warped corners, clipped (``bbox_clip_border``); boxes entirely outside
    the output are dropped, and unless ``skip_filter`` so are those narrower or shorter than
    ``min_bbox_size``, with less than ``min_area_ratio`` of their scaled area left, or more elongated
    than ``max_aspect_ratio``.

    Args:
        max_rotate_degree (float): rotation angle drawn in [-max, max] degrees.
        max_translate_ratio (float): translation drawn in [-max, max] times the output width / height.
        scaling_ratio_range (tuple[float]): (min, max) scale, 0 < min <= max.
        max_shear_degree (float): x and y shear angles drawn in [-max, max] degrees.
        border (tuple[int]): (h, w) added to each side of the output.
        border_val (tuple[int]): fill colour (BGR).
        min_bbox_size, min_area_ratio, max_aspect_ratio, skip_filter: the box filter above.
        bbox_clip_border (bool): clip the boxes to the output.
    """

    def __init__(self, max_rotate_degree=10.0, max_translate_ratio=0.1, scaling_ratio_range=(0.5, 1.5),
                 max_shear_degree=2.0, border=(0, 0), border_val=(114, 114, 114), min_bbox_size=2,
                 min_area_ratio=0.2, max_aspect_ratio=20, bbox_clip_border=True, skip_filter=True):
        name = type(self).__name__
        for arg, value in (('max_rotate_degree', max_rotate_degree), ('max_shear_degree', max_shear_degree),
                           ('min_bbox_size', min_bbox_size), ('min_area_ratio', min_area_ratio)):
            if not (is_number(value) and value >= 0):
                raise InvalidArgumentError(f'{name} {arg} must be a non-negative number, got {value!r}')
        if not (is_number(max_translate_ratio) and 0 <= max_translate_ratio <= 1):
            raise InvalidArgumentError(f'{name} max_translate_ratio must be a number in [0, 1], '
                                       f'got {max_translate_ratio!r}')
        if not (is_pair(scaling_ratio_range) and 0 < scaling_ratio_range[0] <= scaling_ratio_range[1]):
            raise InvalidArgumentError(f'{name} scaling_ratio_range must be (min, max) with 0 < min <= max, '
                                       f'got {scaling_ratio_range!r}')
        if not is_pair(border, is_int):
            raise InvalidArgumentError(f'{name} border must be (h, w), two ints, got {border!r}')
        if not (is_number(max_aspect_ratio) and max_aspect_ratio > 0):
            raise InvalidArgumentError(f'{name} max_aspect_ratio must be a positive number, got {max_aspect_ratio!r}')
        check_bool(name, 'bbox_clip_border', bbox_clip_border)
        check_bool(name, 'skip_filter', skip_filter)
        self.max_rotate_degree, self.max_translate_ratio = max_rotate_degree, max_translate_ratio
        self.scaling_ratio_range, self.max_shear_degree = scaling_ratio_range, max_shear_degree
        self.border, self.border_val = border, _three_values(name, 'border_val', border_val)
        self.min_bbox_size, self.min_area_ratio, self.max_aspect_ratio = min_bbox_size, min_area_ratio, max_aspect_ratio
        self.bbox_clip_border, self.skip_filter = bbox_clip_border, skip_filter

    def _random_matrix(self, height, width):
        """The 3x3 warp (source -> output) and its scale."""
        angle = math.radians(np.random.uniform(-self.max_rotate_degree, self.max_rotate_degree))
        scale = np.random.uniform(self.scaling_ratio_range[0], self.scaling_ratio_range[1])
        shear_x = math.tan(math.radians(np.random.uniform(-self.max_shear_degree, self.max_shear_degree)))
        shear_y = math.tan(math.radians(np.random.uniform(-self.max_shear_degree, self.max_shear_degree)))
        trans_x = np.random.uniform(-self.max_translate_ratio, self.max_translate_ratio) * width
        trans_y = np.random.uniform(-self.max_translate_ratio, self.max_translate_ratio) * height
        rotation = np.array([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0],
                             [0, 0, 1]], dtype=np.float32)
        scaling = np.diag(np.array([scale, scale, 1], dtype=np.float32))
        shear = np.array([[1, shear_x, 0], [shear_y, 1, 0], [0, 0, 1]], dtype=np.float32)
        translation = np.array([[1, 0, trans_x], [0, 1, trans_y], [0, 0, 1]], dtype=np.float32)
        return translation @ shear @ rotation @ scaling, scale

    def _box_filter(self, origin, warped):
        """(n,) bool: warped boxes that keep enough size, area and a sane aspect ratio."""
        ow, oh = origin[:, 2] - origin[:, 0], origin[:, 3] - origin[:, 1]
        ww, wh = warped[:, 2] - warped[:, 0], warped[:, 3] - warped[:, 1]
        aspect = np.maximum(ww / (wh + 1e-16), wh / (ww + 1e-16))
        return ((ww > self.min_bbox_size) & (wh > self.min_bbox_size)
                & (ww * wh / (ow * oh + 1e-16) > self.min_area_ratio) & (aspect < self.max_aspect_ratio))

    def __call__(self, results):
        reject_masks(type(self).__name__, results)
        img = results['img']
        height, width = img.shape[0] + self.border[0] * 2, img.shape[1] + self.border[1] * 2
        matrix, scale = self._random_matrix(height, width)
        results['img'] = cv2.warpPerspective(img, matrix, dsize=(width, height), borderValue=self.border_val)
        results['img_shape'] = results['img'].shape
        for key in results.get('bbox_fields', []):
            boxes = results[key]
            if not len(boxes):
                continue
            warped = warp_boxes(boxes, matrix)
            if self.bbox_clip_border:
                clip_boxes(warped, height, width)
            keep = find_inside_bboxes(warped, height, width)
            if not self.skip_filter:
                keep &= self._box_filter(boxes * scale, warped)
            results[key] = warped
            keep_boxes(results, key, keep)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(max_rotate_degree={self.max_rotate_degree}, '
                f'max_translate_ratio={self.max_translate_ratio}, scaling_ratio_range={self.scaling_ratio_range}, '
                f'max_shear_degree={self.max_shear_degree}, border={self.border}, border_val={self.border_val}, '
                f'min_bbox_size={self.min_bbox_size}, min_area_ratio={self.min_area_ratio}, '
                f'max_aspect_ratio={self.max_aspect_ratio}, skip_filter={self.skip_filter})')
