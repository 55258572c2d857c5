"""Train on high-resolution images without pre-sliced copies: crop each sample, on the fly, to a window
around one of its objects.

:class:`ObjectCrop` is the transform (it runs on the loaded full-resolution image, before any ``Resize``);
:class:`ObjectCropDataset` wraps an existing training dataset config unchanged and puts an ``ObjectCrop``
right after the ``LoadAnnotations`` step of (a copy of) its pipeline::

    data = dict(train=dict(type='ObjectCropDataset', crop_size=(512, 512), p_random=0.1, min_visible=0.5,
                           dataset=dict(type='CocoDataset', ann_file=..., img_prefix=..., pipeline=train_pipeline)))

which is the same as writing ``dict(type='ObjectCrop', crop_size=(512, 512), ...)`` after
``LoadAnnotations`` in ``train_pipeline`` by hand.
"""
import copy

import numpy as np

from mmdet.utils.errors import InvalidArgumentError

from .builder import DATASETS
from .pipelines.augment import BBOX2LABEL
from .pipelines.compose import PIPELINES, Compose
from .pipelines.loading import LoadAnnotations
from .pipelines.transforms import check_bool, check_probability, is_int, is_number, is_pair


def _window_start(lo_box, hi_box, size, length):
    """A random integer start ``s`` of a window ``[s, s + size)`` in ``[0, length)`` that holds
    ``[lo_box, hi_box]``; centred on it (clipped to the image) when it is longer than ``size``."""
    lo = max(0, int(np.ceil(hi_box)) - size)
    hi = min(int(np.floor(lo_box)), length - size)
    if lo <= hi:
        return int(np.random.randint(lo, hi + 1))
    return int(np.clip(round((lo_box + hi_box - size) / 2), 0, length - size))


@PIPELINES.register_module()
class ObjectCrop:
    """Crop the image to ``crop_size`` around a randomly chosen gt object, or (with probability
    ``p_random``) a random window.

    The window lies inside the image (it is the image's size along a side shorter than ``crop_size``) and
    holds the chosen object whole when the object fits (else it is centred on the object).  Boxes are
    shifted into the window and clipped to it; a box with less than ``min_visible`` of its area inside the
    window is dropped, with its label (the chosen object is always kept).  ``gt_bboxes_ignore`` follow the
    same rule.  The cropped image is a copy, so the full-resolution one is freed.

    Args:
        crop_size (tuple[int, int]): window (width, height) in pixels, as ``img_scale`` and ``slice_size``.
        p_random (float): probability of a random window instead of one around an object (always for an
            image without boxes).
        min_visible (float): least share of a box's area inside the window for it to be kept, in [0, 1].
        allow_negative_crop (bool): a random window may hold no box; False: a random window that loses
            every box of an image that has some is replaced by a window around an object.

    Adds ``results['object_crop']``: ``window`` [x1, y1, x2, y2] in the original image, ``object`` (the
    index of the chosen gt box among the input ``gt_bboxes``, -1 for a random window) and ``kept`` (the
    input indices of the output ``gt_bboxes``).
    """

    def __init__(self, crop_size, p_random=0.0, min_visible=0.5, allow_negative_crop=False):
        name = type(self).__name__
        if not is_pair(crop_size, lambda v: is_int(v) and v > 0):
            raise InvalidArgumentError(f'{name} crop_size must be (width, height), two positive ints, '
                                       f'got {crop_size!r}')
        check_probability(name, 'p_random', p_random)
        if not (is_number(min_visible) and 0 <= min_visible <= 1):
            raise InvalidArgumentError(f'{name} min_visible must be a number in [0, 1], got {min_visible!r}')
        check_bool(name, 'allow_negative_crop', allow_negative_crop)
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.p_random, self.min_visible = float(p_random), float(min_visible)
        self.allow_negative_crop = allow_negative_crop

    def _visible(self, boxes, window, forced=-1):
        """``boxes`` (n, 4) shifted and clipped into ``window`` and the (n,) bool mask of those kept."""
        x1, y1, x2, y2 = window
        shifted = boxes - np.array([x1, y1, x1, y1], np.float32)
        clipped = shifted.copy()
        clipped[:, 0::2] = clipped[:, 0::2].clip(0, x2 - x1)
        clipped[:, 1::2] = clipped[:, 1::2].clip(0, y2 - y1)
        wh = clipped[:, 2:] - clipped[:, :2]
        area = np.prod((boxes[:, 2:] - boxes[:, :2]).clip(min=0), axis=1)
        inside = np.prod(wh.clip(min=0), axis=1)
        keep = (wh > 0).all(axis=1) & (inside >= self.min_visible * area)
        if forced >= 0:
            keep[forced] = True
        return clipped, keep

    def _window(self, h, w, box=None):
        cw, ch = min(self.crop_size[0], w), min(self.crop_size[1], h)
        if box is None:
            x0, y0 = np.random.randint(0, w - cw + 1), np.random.randint(0, h - ch + 1)
        else:
            x0, y0 = _window_start(box[0], box[2], cw, w), _window_start(box[1], box[3], ch, h)
        return int(x0), int(y0), int(x0) + cw, int(y0) + ch

    def __call__(self, results):
        if 'gt_bboxes' not in results:
            raise KeyError(f'{type(self).__name__} needs gt_bboxes: put it after LoadAnnotations')
        h, w = results['img'].shape[:2]
        gt = np.asarray(results['gt_bboxes'], np.float32).reshape(-1, 4)
        chosen = -1
        if len(gt) and np.random.rand() >= self.p_random:
            chosen = int(np.random.randint(len(gt)))
        window = self._window(h, w, gt[chosen] if chosen >= 0 else None)
        boxes, keep = self._visible(gt, window, chosen)
        if chosen < 0 and len(gt) and not keep.any() and not self.allow_negative_crop:
            chosen = int(np.random.randint(len(gt)))
            window = self._window(h, w, gt[chosen])
            boxes, keep = self._visible(gt, window, chosen)
        x1, y1, x2, y2 = window
        for key in results.get('img_fields', ['img']):
            results[key] = np.ascontiguousarray(results[key][y1:y2, x1:x2])
        results['img_shape'] = results['img'].shape
        results['gt_bboxes'] = boxes[keep]
        if 'gt_labels' in results:
            results['gt_labels'] = np.asarray(results['gt_labels'])[keep]
        for key in results.get('bbox_fields', []):
            if key == 'gt_bboxes':
                continue
            other, other_keep = self._visible(np.asarray(results[key], np.float32).reshape(-1, 4), window)
            results[key] = other[other_keep]
            if BBOX2LABEL.get(key) in results:
                results[BBOX2LABEL[key]] = np.asarray(results[BBOX2LABEL[key]])[other_keep]
        results['object_crop'] = dict(window=np.array(window, np.int64), object=chosen,
                                      kept=np.nonzero(keep)[0])
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(crop_size={self.crop_size}, p_random={self.p_random}, '
                f'min_visible={self.min_visible}, allow_negative_crop={self.allow_negative_crop})')


@DATASETS.register_module()
class ObjectCropDataset:
    """A training dataset whose samples are cropped, on the fly, around their objects (:class:`ObjectCrop`).

    The wrapped dataset keeps its config and pipeline: this wrapper works on a shallow copy of it whose
    pipeline has an :class:`ObjectCrop` inserted right after its ``LoadAnnotations`` step, so the crop is
    made at full resolution and every later step (``Resize``, flips, ``Collect``) sees the crop.  (The
    simplest correct design: no second pipeline to write, unlike :class:`MultiImageMixDataset`, and the
    wrapped dataset's own retry on a dropped sample still applies.)

    Args:
        dataset: the wrapped dataset (built; ``build_dataset`` builds a config first), in training mode:
            its pipeline has a ``LoadAnnotations`` step and no ``ObjectCrop``.
        crop_size, p_random, min_visible, allow_negative_crop: as :class:`ObjectCrop`.

    Attributes: ``dataset`` (the copy with the crop), ``CLASSES``, ``PALETTE``, ``flag`` (the aspect-ratio
    group of each sample's crop: 1 where it is wider than high).
    """

    WRAPS = 'dataset'

    def __init__(self, dataset, crop_size, p_random=0.0, min_visible=0.5, allow_negative_crop=False):
        name = type(dataset).__name__
        pipeline = getattr(dataset, 'pipeline', None)
        steps = getattr(pipeline, 'transforms', None)
        if steps is None:
            raise TypeError(f'ObjectCropDataset: {name} has no pipeline (a Compose) to put the crop in')
        if any(isinstance(t, ObjectCrop) for t in steps):
            raise ValueError(f'ObjectCropDataset: the pipeline of {name} already has an ObjectCrop step')
        where = [i for i, t in enumerate(steps) if isinstance(t, LoadAnnotations)]
        if not where:
            raise ValueError(f'ObjectCropDataset: the pipeline of {name} has no LoadAnnotations step to crop after '
                             f'(a training pipeline is needed): {[type(t).__name__ for t in steps]}')
        self.crop = ObjectCrop(crop_size, p_random, min_visible, allow_negative_crop)
        self.dataset = copy.copy(dataset)
        self.dataset.pipeline = Compose(steps[:where[0] + 1] + [self.crop] + steps[where[0] + 1:])
        self.CLASSES = dataset.CLASSES
        self.PALETTE = getattr(dataset, 'PALETTE', None)
        infos = getattr(dataset, 'data_infos', None)
        if infos is not None and all('width' in i and 'height' in i for i in infos):
            cw, ch = self.crop.crop_size
            self.flag = np.array([min(cw, i['width']) > min(ch, i['height']) for i in infos], np.uint8)
        elif hasattr(dataset, 'flag'):
            self.flag = dataset.flag

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        return self.dataset[idx]

    def get_cat_ids(self, idx):
        return self.dataset.get_cat_ids(idx)

    def __repr__(self):
        return f'{type(self).__name__}({len(self)} samples of {type(self.dataset).__name__}, {self.crop!r})'
