"""Multi-image transforms (MMDetection 2.28): YOLOX's ``Mosaic`` and ``MixUp`` and Simple Copy-Paste's
``CopyPaste`` combine the sample with others that
:class:`~mmdet.datasets.multi_image_mix.MultiImageMixDataset` loads for them (their
``get_indexes(dataset)`` says which; the loaded samples arrive as ``results['mix_results']``), and
``YOLOXHSVRandomAug`` is YOLOX's colour jitter.

Images are uint8 BGR.  In ``Mosaic`` and ``MixUp`` every bbox field of the sample (``gt_bboxes``,
``gt_bboxes_ignore``) is combined with the same field of the other samples; boxes entirely outside the
output are dropped with their labels.  ``CopyPaste`` changes ``gt_bboxes`` and ``gt_labels`` only.
"""
import cv2
import numpy as np

from mmdet.utils.errors import InvalidArgumentError

from .augment import BBOX2LABEL
from .compose import PIPELINES
from .geometric import clip_boxes, find_inside_bboxes, reject_masks
from .transforms import check_bool, check_probability, imresize, is_int, is_number, is_pair


def _check_scale(owner, img_scale):
    if not (isinstance(img_scale, tuple) and is_pair(img_scale, lambda x: is_int(x) and x > 0)):
        raise InvalidArgumentError(f'{owner} img_scale must be a tuple (h, w) of two positive ints, got {img_scale!r}')


def _check_nonneg(owner, name, value):
    if not (is_number(value) and value >= 0):
        raise InvalidArgumentError(f'{owner} {name} must be a non-negative number, got {value!r}')


def _mix_results(owner, results, count):
    mixed = results.get('mix_results')
    if mixed is None or len(mixed) != count:
        got = 'none' if mixed is None else len(mixed)
        raise InvalidArgumentError(
            f"{owner} needs results['mix_results'] with {count} other sample(s), got {got}: use it in the pipeline "
            f'of a MultiImageMixDataset')
    return mixed


def _box_field(results, key):
    boxes = results.get(key)
    return np.zeros((0, 4), np.float32) if boxes is None else boxes


@PIPELINES.register_module()
class Mosaic:
    """Four images in a 2x2 mosaic of ``2 * img_scale``, with probability ``prob``.

    The mosaic centre is drawn in ``center_ratio_range * img_scale`` (x from w, y from h); the sample goes
    top-left of it, the three others of ``results['mix_results']`` top-right, bottom-left, bottom-right,
    each resized (keeping its ratio) to fit ``img_scale`` and cut where it passes the mosaic border.
    The rest is ``pad_val``.  Boxes follow and are clipped (``bbox_clip_border``); unless ``skip_filter``,
    boxes not wider and taller than ``min_bbox_size`` are dropped.

    Args:
        img_scale (tuple[int]): (h, w) of one tile; the output is (2h, 2w).
        center_ratio_range (tuple[float]): range of the centre, as a ratio of ``img_scale``.
        min_bbox_size (int | float): see above.
        bbox_clip_border (bool): clip the boxes to the mosaic.
        skip_filter (bool): skip the ``min_bbox_size`` filter.
        pad_val (int): fill value.
        prob (float): probability of making a mosaic.
    """

    def __init__(self, img_scale=(640, 640), center_ratio_range=(0.5, 1.5), min_bbox_size=0, bbox_clip_border=True,
                 skip_filter=True, pad_val=114, prob=1.0):
        name = type(self).__name__
        _check_scale(name, img_scale)
        if not (is_pair(center_ratio_range) and 0 <= center_ratio_range[0] <= center_ratio_range[1]):
            raise InvalidArgumentError(f'{name} center_ratio_range must be (min, max) with 0 <= min <= max, '
                                       f'got {center_ratio_range!r}')
        _check_nonneg(name, 'min_bbox_size', min_bbox_size)
        check_bool(name, 'bbox_clip_border', bbox_clip_border)
        check_bool(name, 'skip_filter', skip_filter)
        if not is_number(pad_val):
            raise InvalidArgumentError(f'{name} pad_val must be a number, got {pad_val!r}')
        check_probability(name, 'prob', prob)
        self.img_scale, self.center_ratio_range, self.min_bbox_size = img_scale, center_ratio_range, min_bbox_size
        self.bbox_clip_border, self.skip_filter, self.pad_val, self.prob = bbox_clip_border, skip_filter, pad_val, prob

    def get_indexes(self, dataset):
        """Three random indexes of ``dataset``: the other tiles."""
        return [np.random.randint(0, len(dataset)) for _ in range(3)]

    def __call__(self, results):
        if np.random.uniform(0, 1) > self.prob:
            return results
        return self._mosaic_transform(results)

    def _combine(self, loc, center, size):
        """Where a tile of ``size`` (w, h) goes in the mosaic, (x1, y1, x2, y2), and the part of it shown,
        (x1, y1, x2, y2) in tile pixels."""
        cx, cy = center
        w, h = size
        mh, mw = self.img_scale[0] * 2, self.img_scale[1] * 2
        if loc == 'top_left':
            x1, y1, x2, y2 = max(cx - w, 0), max(cy - h, 0), cx, cy
            crop = w - (x2 - x1), h - (y2 - y1), w, h
        elif loc == 'top_right':
            x1, y1, x2, y2 = cx, max(cy - h, 0), min(cx + w, mw), cy
            crop = 0, h - (y2 - y1), min(w, x2 - x1), h
        elif loc == 'bottom_left':
            x1, y1, x2, y2 = max(cx - w, 0), cy, cx, min(mh, cy + h)
            crop = w - (x2 - x1), 0, w, min(y2 - y1, h)
        else:
            x1, y1, x2, y2 = cx, cy, min(cx + w, mw), min(mh, cy + h)
            crop = 0, 0, min(w, x2 - x1), min(y2 - y1, h)
        return (x1, y1, x2, y2), crop

    def _mosaic_transform(self, results):
        name = type(self).__name__
        reject_masks(name, results)
        tiles = [results] + list(_mix_results(name, results, 3))
        img = results['img']
        mh, mw = self.img_scale[0] * 2, self.img_scale[1] * 2
        mosaic = np.full((mh, mw) + img.shape[2:], self.pad_val, dtype=img.dtype)
        center = (int(np.random.uniform(*self.center_ratio_range) * self.img_scale[1]),
                  int(np.random.uniform(*self.center_ratio_range) * self.img_scale[0]))
        fields = list(results.get('bbox_fields', ['gt_bboxes']))
        boxes = {key: [] for key in fields}
        labels = {key: [] for key in fields}
        for loc, tile in zip(('top_left', 'top_right', 'bottom_left', 'bottom_right'), tiles):
            tile_img = tile['img']
            h, w = tile_img.shape[:2]
            ratio = min(self.img_scale[0] / h, self.img_scale[1] / w)
            tile_img = imresize(tile_img, (int(w * ratio), int(h * ratio)))
            (x1, y1, x2, y2), (cx1, cy1, cx2, cy2) = self._combine(loc, center, tile_img.shape[1::-1])
            mosaic[y1:y2, x1:x2] = tile_img[cy1:cy2, cx1:cx2]
            shift = np.array([x1 - cx1, y1 - cy1] * 2, dtype=np.float32)
            for key in fields:
                boxes[key].append(_box_field(tile, key) * np.float32(ratio) + shift)
                tile_labels = tile.get(BBOX2LABEL.get(key))
                if tile_labels is not None:
                    labels[key].append(tile_labels)
        for key in fields:
            field_boxes = np.concatenate(boxes[key], 0).astype(np.float32)
            keep = np.ones(len(field_boxes), bool)
            if self.bbox_clip_border:
                clip_boxes(field_boxes, mh, mw)
            if key == 'gt_bboxes' and not self.skip_filter:
                keep &= ((field_boxes[:, 2] - field_boxes[:, 0]) > self.min_bbox_size) & (
                    (field_boxes[:, 3] - field_boxes[:, 1]) > self.min_bbox_size)
            keep &= find_inside_bboxes(field_boxes, mh, mw)
            results[key] = field_boxes[keep]
            if len(labels[key]) == len(tiles):
                results[BBOX2LABEL[key]] = np.concatenate(labels[key], 0)[keep]
        results['img'] = mosaic
        results['img_shape'] = mosaic.shape
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(img_scale={self.img_scale}, center_ratio_range={self.center_ratio_range}, '
                f'pad_val={self.pad_val}, min_bbox_size={self.min_bbox_size}, skip_filter={self.skip_filter}, '
                f'prob={self.prob})')


@PIPELINES.register_module()
class MixUp:
    """YOLOX's MixUp: another image, resized to fit ``img_scale`` (keeping its ratio) on a ``pad_val``
    canvas, jittered in scale (``ratio_range``), maybe flipped, cut at a random spot to the sample's
    size, and averaged 50/50 with the sample; its boxes are added to the sample's.

    The other image is flipped with probability ``flip_ratio`` (a uniform draw below it), as since
    MMDetection 2.26 (before, a draw above it flipped: probability ``1 - flip_ratio``); the part of
    the cut beyond the jittered canvas is black.
    A sample whose other image has no box is returned as it is.

    Args:
        img_scale (tuple[int]): (h, w) the other image is fitted to.
        ratio_range (tuple[float]): scale jitter range.
        flip_ratio (float): probability of flipping the other image horizontally.
        pad_val (int): fill value of the canvas.
        max_iters (int): ``get_indexes`` tries this many random images for one with boxes.
        min_bbox_size, min_area_ratio, max_aspect_ratio (float): unless ``skip_filter``, the other
            image's boxes are kept only if wider and taller than ``min_bbox_size``, with more than
            ``min_area_ratio`` of their scaled area left and an aspect ratio under ``max_aspect_ratio``.
        bbox_clip_border (bool): clip the boxes to the image.
        skip_filter (bool): skip that filter.
    """

    def __init__(self, img_scale=(640, 640), ratio_range=(0.5, 1.5), flip_ratio=0.5, pad_val=114, max_iters=15,
                 min_bbox_size=5, min_area_ratio=0.2, max_aspect_ratio=20, bbox_clip_border=True, skip_filter=True):
        name = type(self).__name__
        _check_scale(name, img_scale)
        if not (is_pair(ratio_range) and 0 < ratio_range[0] <= ratio_range[1]):
            raise InvalidArgumentError(f'{name} ratio_range must be (min, max) with 0 < min <= max, '
                                       f'got {ratio_range!r}')
        check_probability(name, 'flip_ratio', flip_ratio)
        if not is_number(pad_val):
            raise InvalidArgumentError(f'{name} pad_val must be a number, got {pad_val!r}')
        if not (is_int(max_iters) and max_iters > 0):
            raise InvalidArgumentError(f'{name} max_iters must be a positive int, got {max_iters!r}')
        for arg, value in (('min_bbox_size', min_bbox_size), ('min_area_ratio', min_area_ratio),
                           ('max_aspect_ratio', max_aspect_ratio)):
            _check_nonneg(name, arg, value)
        check_bool(name, 'bbox_clip_border', bbox_clip_border)
        check_bool(name, 'skip_filter', skip_filter)
        self.dynamic_scale, self.ratio_range = img_scale, ratio_range
        self.flip_ratio, self.pad_val = flip_ratio, pad_val
        self.max_iters, self.min_bbox_size = max_iters, min_bbox_size
        self.min_area_ratio, self.max_aspect_ratio = min_area_ratio, max_aspect_ratio
        self.bbox_clip_border, self.skip_filter = bbox_clip_border, skip_filter

    def get_indexes(self, dataset):
        """A random index of ``dataset`` whose annotation has a box (the last one tried after
        ``max_iters``)."""
        for _ in range(self.max_iters):
            index = np.random.randint(0, len(dataset))
            if len(dataset.get_ann_info(index)['bboxes']) != 0:
                break
        return index

    def __call__(self, results):
        return self._mixup_transform(results)

    def _filter_box_candidates(self, before, after):
        """(n,) bool: boxes ``after`` the cut that keep enough of ``before`` (both (n, 4))."""
        w1, h1 = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
        w2, h2 = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
        aspect = np.maximum(w2 / (h2 + 1e-16), h2 / (w2 + 1e-16))
        return ((w2 > self.min_bbox_size) & (h2 > self.min_bbox_size)
                & (w2 * h2 / (w1 * h1 + 1e-16) > self.min_area_ratio) & (aspect < self.max_aspect_ratio))

    def _mixup_transform(self, results):
        name = type(self).__name__
        reject_masks(name, results)
        other = _mix_results(name, results, 1)[0]
        if other['gt_bboxes'].shape[0] == 0:
            return results
        other_img = other['img']
        jit_factor = np.random.uniform(*self.ratio_range)
        is_flip = np.random.uniform(0, 1) < self.flip_ratio
        th, tw = self.dynamic_scale
        canvas = np.full((th, tw) + other_img.shape[2:], self.pad_val, dtype=other_img.dtype)
        scale_ratio = min(th / other_img.shape[0], tw / other_img.shape[1])
        other_img = imresize(other_img, (int(other_img.shape[1] * scale_ratio), int(other_img.shape[0] * scale_ratio)))
        canvas[:other_img.shape[0], :other_img.shape[1]] = other_img
        scale_ratio *= jit_factor
        canvas = imresize(canvas, (int(canvas.shape[1] * jit_factor), int(canvas.shape[0] * jit_factor)))
        if is_flip:
            canvas = canvas[:, ::-1]
        ori_img = results['img']
        origin_h, origin_w = canvas.shape[:2]
        target_h, target_w = ori_img.shape[:2]
        padded = np.zeros((max(origin_h, target_h), max(origin_w, target_w)) + canvas.shape[2:], np.uint8)
        padded[:origin_h, :origin_w] = canvas
        y_offset = np.random.randint(0, padded.shape[0] - target_h) if padded.shape[0] > target_h else 0
        x_offset = np.random.randint(0, padded.shape[1] - target_w) if padded.shape[1] > target_w else 0
        cut = padded[y_offset:y_offset + target_h, x_offset:x_offset + target_w]
        shift = np.array([x_offset, y_offset] * 2, dtype=np.float32)
        for key in results.get('bbox_fields', ['gt_bboxes']):
            scaled = _box_field(other, key) * np.float32(scale_ratio)
            if self.bbox_clip_border:
                clip_boxes(scaled, origin_h, origin_w)
            if is_flip:
                scaled[:, 0::2] = origin_w - scaled[:, 0::2][:, ::-1]
            moved = scaled - shift
            if self.bbox_clip_border:
                clip_boxes(moved, target_h, target_w)
            label_key = BBOX2LABEL.get(key)
            other_labels = other.get(label_key)
            if key == 'gt_bboxes' and not self.skip_filter:
                keep = self._filter_box_candidates(scaled, moved)
                moved = moved[keep]
                other_labels = other_labels[keep] if other_labels is not None else None
            mixed = np.concatenate([_box_field(results, key), moved], 0).astype(np.float32)
            inside = find_inside_bboxes(mixed, target_h, target_w)
            results[key] = mixed[inside]
            if label_key in results and other_labels is not None:
                results[label_key] = np.concatenate([results[label_key], other_labels], 0)[inside]
        mixed_img = 0.5 * ori_img.astype(np.float32) + 0.5 * cut.astype(np.float32)
        results['img'] = mixed_img.astype(np.uint8)
        results['img_shape'] = mixed_img.shape
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(dynamic_scale={self.dynamic_scale}, ratio_range={self.ratio_range}, '
                f'flip_ratio={self.flip_ratio}, pad_val={self.pad_val}, max_iters={self.max_iters}, '
                f'min_bbox_size={self.min_bbox_size}, min_area_ratio={self.min_area_ratio}, '
                f'max_aspect_ratio={self.max_aspect_ratio}, skip_filter={self.skip_filter})')


def _box_pixel_ranges(boxes, h, w):
    """The pixels of box-shaped masks, as 2.x draws them: ``x1, y1, x2, y2`` ((n,) int64 each, the
    mask is ``[y1:y2, x1:x2]``) from the (n, 4) ``boxes`` truncated to ints and clipped to the image."""
    ints = np.trunc(np.asarray(boxes, np.float64)).astype(np.int64)
    x1, y1 = ints[:, 0].clip(0, w), ints[:, 1].clip(0, h)
    return x1, y1, np.maximum(ints[:, 2].clip(0, w), x1), np.maximum(ints[:, 3].clip(0, h), y1)


def _union_of_ranges(x1, y1, x2, y2, h, w):
    """(h, w) bool: the pixels of any of the box masks (summed-area difference image, no loop)."""
    diff = np.zeros((h + 1, w + 1), np.int32)
    np.add.at(diff, (y1, x1), 1)
    np.add.at(diff, (y1, x2), -1)
    np.add.at(diff, (y2, x1), -1)
    np.add.at(diff, (y2, x2), 1)
    return diff.cumsum(0).cumsum(1)[:h, :w] > 0


def _visible_parts(free, x1, y1, x2, y2):
    """Of each box mask, the part on ``free`` (h, w) bool pixels: its bounding box ((n, 4) float32,
    ``x2, y2`` one past the last pixel as 2.x's ``BitmapMasks.get_bboxes``; zeros when none is left)
    and its area ((n,) int)."""
    h, w = free.shape
    free = free.astype(np.int32)
    down = np.concatenate([np.zeros((1, w), np.int32), free.cumsum(0)], 0)  # (h + 1, w) column sums
    across = np.concatenate([np.zeros((h, 1), np.int32), free.cumsum(1)], 1)  # (h, w + 1) row sums
    in_x = (np.arange(w) >= x1[:, None]) & (np.arange(w) < x2[:, None])
    in_y = (np.arange(h) >= y1[:, None]) & (np.arange(h) < y2[:, None])
    per_col = (down[y2] - down[y1]) * in_x  # (n, w): free pixels of each column inside the box
    per_row = (across[:, x2] - across[:, x1]).T * in_y  # (n, h): of each row
    area = per_col.sum(1)
    has_x, has_y = per_col > 0, per_row > 0
    boxes = np.stack([has_x.argmax(1), has_y.argmax(1), w - has_x[:, ::-1].argmax(1),
                      h - has_y[:, ::-1].argmax(1)], 1).astype(np.float32)
    boxes[area == 0] = 0
    return boxes, area


@PIPELINES.register_module()
class CopyPaste:
    """Simple Copy-Paste (MMDetection 2.25+), pasting by box: objects of another image of the same size
    (``results['mix_results'][0]``, from :class:`~mmdet.datasets.multi_image_mix.MultiImageMixDataset`),
    their pixels within their gt boxes, are pasted onto the sample at the same place.

    Both images should already be resized, cropped and padded to one size (as 2.x's configs do); a
    source of another shape is an error.  Steps, as 2.x's path for samples without masks:

    1. Every object gets a box-shaped mask: its box truncated to ints, clipped to the image.
    2. Unless ``selected`` is False (paste them all), a random subset of the source objects is taken:
       ``np.random.randint(0, min(n + 1, max_num_pasted))`` of the n objects (so at most
       ``max_num_pasted - 1``), drawn by ``np.random.choice`` without replacement.  None taken: the
       sample is returned as it is.
    3. The source pixels under the union of their masks replace the sample's (the image keeps its dtype).
    4. Each of the sample's objects keeps the part of its mask not pasted over; its box becomes that
       part's bounding box (integer pixels), and the object is kept if every side of its box moved at
       most ``bbox_occluded_thr`` pixels or that part has more than ``mask_occluded_thr`` pixels.  An
       object with no pixel left is dropped (2.x kept one with box (0, 0, 0, 0) if its sides were
       within ``bbox_occluded_thr`` of the origin).
    5. The pasted objects' boxes (unchanged) and labels are appended to ``gt_bboxes`` / ``gt_labels``.

    ``gt_bboxes_ignore`` and ``gt_labels_ignore`` are left as they are and the source's are not
    added.  Samples with ``gt_masks`` (instance masks, which this toolbox does not have) are refused.

    Args:
        max_num_pasted (int): bound on the number of pasted objects, see step 2.
        bbox_occluded_thr (int | float): see step 4.
        mask_occluded_thr (int | float): see step 4.
        selected (bool): paste a random subset of the source objects (True) or all of them.
    """

    def __init__(self, max_num_pasted=100, bbox_occluded_thr=10, mask_occluded_thr=300, selected=True):
        name = type(self).__name__
        if not (is_int(max_num_pasted) and max_num_pasted > 0):
            raise InvalidArgumentError(f'{name} max_num_pasted must be a positive int, got {max_num_pasted!r}')
        _check_nonneg(name, 'bbox_occluded_thr', bbox_occluded_thr)
        _check_nonneg(name, 'mask_occluded_thr', mask_occluded_thr)
        check_bool(name, 'selected', selected)
        self.max_num_pasted, self.selected = max_num_pasted, selected
        self.bbox_occluded_thr, self.mask_occluded_thr = bbox_occluded_thr, mask_occluded_thr

    def get_indexes(self, dataset):
        """A random index of ``dataset``: the source image."""
        return np.random.randint(0, len(dataset))

    def __call__(self, results):
        name = type(self).__name__
        source = _mix_results(name, results, 1)[0]
        for which, sample in (('sample', results), ('source sample', source)):
            if sample.get('gt_masks') is not None:
                raise InvalidArgumentError(
                    f'{name} pastes by box only and this toolbox has no instance masks, but the {which} has '
                    "gt_masks: load annotations without masks (LoadAnnotations(with_mask=False))")
            reject_masks(name, sample)
        dst_img, src_img = results['img'], source['img']
        if src_img.shape != dst_img.shape:
            raise InvalidArgumentError(
                f'{name} pastes objects at the same place, so the source image must have the shape of the '
                f'sample, got {src_img.shape} and {dst_img.shape}: resize, crop and pad the images of the '
                'dataset to one size before it (e.g. Resize, RandomCrop and Pad with a fixed size)')
        src_boxes, src_labels = _box_field(source, 'gt_bboxes'), source['gt_labels']
        if self.selected:
            count = np.random.randint(0, min(len(src_boxes) + 1, self.max_num_pasted))
            chosen = np.random.choice(len(src_boxes), size=count, replace=False)
            src_boxes, src_labels = src_boxes[chosen], src_labels[chosen]
        if not len(src_boxes):
            return results
        h, w = dst_img.shape[:2]
        pasted = _union_of_ranges(*_box_pixel_ranges(src_boxes, h, w), h, w)
        dst_boxes = _box_field(results, 'gt_bboxes')
        visible, area = _visible_parts(~pasted, *_box_pixel_ranges(dst_boxes, h, w))
        keep = (area > 0) & ((np.abs(visible - dst_boxes) <= self.bbox_occluded_thr).all(1)
                             | (area > self.mask_occluded_thr))
        where = pasted.reshape(pasted.shape + (1,) * (dst_img.ndim - 2))
        results['img'] = np.where(where, src_img, dst_img).astype(dst_img.dtype, copy=False)
        results['gt_bboxes'] = np.concatenate([visible[keep], src_boxes], 0).astype(np.float32)
        results['gt_labels'] = np.concatenate([results['gt_labels'][keep], src_labels], 0)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(max_num_pasted={self.max_num_pasted}, '
                f'bbox_occluded_thr={self.bbox_occluded_thr}, mask_occluded_thr={self.mask_occluded_thr}, '
                f'selected={self.selected})')


@PIPELINES.register_module()
class YOLOXHSVRandomAug:
    """YOLOX's HSV jitter of a uint8 BGR image: gains drawn in ``[-delta, delta]`` for hue (OpenCV's
    0..179 scale, wrapped), saturation and value (0..255, clipped), each kept or zeroed at random.

    Args:
        hue_delta (int): the largest hue change.
        saturation_delta (int): the largest saturation change.
        value_delta (int): the largest value change.
    """

    def __init__(self, hue_delta=5, saturation_delta=30, value_delta=30):
        name = type(self).__name__
        for arg, value in (('hue_delta', hue_delta), ('saturation_delta', saturation_delta),
                           ('value_delta', value_delta)):
            _check_nonneg(name, arg, value)
        self.hue_delta, self.saturation_delta, self.value_delta = hue_delta, saturation_delta, value_delta

    def __call__(self, results):
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise InvalidArgumentError(
                f'{type(self).__name__} needs a uint8 BGR image (H, W, 3), got {img.dtype} {img.shape}')
        gains = np.random.uniform(-1, 1, 3) * [self.hue_delta, self.saturation_delta, self.value_delta]
        gains *= np.random.randint(0, 2, 3)
        gains = gains.astype(np.int16)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
        hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
        results['img'] = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(hue_delta={self.hue_delta}, saturation_delta={self.saturation_delta}, '
                f'value_delta={self.value_delta})')
