"""The 2.x middle-format dataset and the behaviour every dataset shares."""
import json
import os.path as osp
import pickle
import warnings

import numpy as np
from torch.utils.data import Dataset

from mmdet.core import eval_map
from mmdet.utils.file_client import local_file_client

from .builder import DATASETS
from .pipelines import Compose, ImageReadError


class AnnotationError(ValueError):
    """An annotation file or entry that cannot be used; the message names it."""


def read_json(path):
    """``json.load`` whose errors name the file and the position (line, column, character)."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        raise AnnotationError(f'cannot read annotation file {path}: {e.strerror or e}') from e
    if not raw.strip():
        raise AnnotationError(f'annotation file {path} is empty ({len(raw)} bytes)')
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        end = ' (the file ends there: truncated?)' if e.pos >= len(raw.rstrip()) else ''
        raise AnnotationError(f'annotation file {path} is not valid JSON: {e.msg} at line {e.lineno} column '
                              f'{e.colno} (char {e.pos} of {len(raw)}){end}') from e
    except UnicodeDecodeError as e:
        raise AnnotationError(f'annotation file {path} is not valid JSON: not UTF-8 text at byte {e.start} '
                              f'({e.reason})') from e


def _drop_bad_boxes(ann, key, label_key):
    """Drop ``(x1, y1, x2, y2)`` boxes with a NaN/inf coordinate or x2 < x1 / y2 < y1 from ``ann[key]``
    (and the matching ``ann[label_key]``); returns the new ann and ``[(index, box, why)]``."""
    if ann.get(key) is None:
        return ann, []
    boxes = np.asarray(ann[key], dtype=np.float32).reshape(-1, 4)
    finite = np.isfinite(boxes).all(1)
    inverted = finite & ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    bad = ~finite | inverted
    if not bad.any():
        return ann, []
    faults = [(k, boxes[k].tolist(), 'not finite' if not finite[k] else 'x2 < x1 or y2 < y1')
              for k in np.flatnonzero(bad)]
    ann = dict(ann, **{key: boxes[~bad]})
    labels = ann.get(label_key)
    if labels is not None and len(labels) == len(boxes):
        ann[label_key] = np.asarray(labels)[~bad]
    return ann, faults


@DATASETS.register_module()
class CustomDataset(Dataset):
    """A list of dicts ``{filename, width, height, ann: {bboxes (n, 4), labels (n,),
    bboxes_ignore?}}`` in a pickle (or json) file.

    ``skip_bad_images=True`` replaces an unreadable image by another sample
    with a warning naming the file (default: fail, naming it).
    """

    CLASSES = None

    def __init__(self, ann_file, pipeline, classes=None, data_root=None, img_prefix='', seg_prefix=None,
                 seg_suffix='.png', proposal_file=None, test_mode=False, filter_empty_gt=True, file_client_args=None,
                 min_size=None, skip_bad_images=False):
        self.ann_file, self.data_root = ann_file, data_root
        # seg_prefix / seg_suffix are accepted for 2.x configs and ignored (no segmentation maps)
        self.img_prefix, self.seg_prefix, self.seg_suffix = img_prefix, seg_prefix, seg_suffix
        self.file_client_args = local_file_client(type(self).__name__, file_client_args)
        self.test_mode, self.filter_empty_gt, self.min_size = test_mode, filter_empty_gt, min_size
        self.skip_bad_images = skip_bad_images
        if proposal_file is not None:
            raise ValueError('proposal_file is not supported (single-stage detectors only)')
        self.CLASSES = self.get_classes(classes)
        if data_root is not None:
            if not osp.isabs(self.ann_file):
                self.ann_file = osp.join(data_root, self.ann_file)
            if self.img_prefix is not None and not osp.isabs(self.img_prefix):
                self.img_prefix = osp.join(data_root, self.img_prefix)
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'annotation file not found: {self.ann_file}')
        self.data_infos = self.load_annotations(self.ann_file)
        if not test_mode:
            valid = self._filter_imgs(min_size=32 if min_size is None else min_size)
            self.data_infos = [self.data_infos[i] for i in valid]
            self._on_filter(valid)
            self._set_group_flag()
        self.pipeline = Compose(pipeline)

    # -- loading ---------------------------------------------------------
    @classmethod
    def get_classes(cls, classes=None):
        """The class names: the class default for None, the non-empty lines of a file for a
        str, a tuple or list as given."""
        if classes is None:
            return cls.CLASSES
        if isinstance(classes, str):
            with open(classes) as f:
                return tuple(line.strip() for line in f if line.strip())
        if isinstance(classes, (tuple, list)):
            return classes  # as given (2.x): a list stays a list
        raise TypeError(f'classes must be a file name, tuple or list, got {type(classes).__name__}')

    def load_annotations(self, ann_file):
        if ann_file.endswith('.json'):
            infos = read_json(ann_file)
        else:
            try:
                with open(ann_file, 'rb') as f:
                    infos = pickle.load(f)
            except Exception as e:
                raise AnnotationError(f'cannot read annotation file {ann_file}: {type(e).__name__}: {e}') from e
        if not isinstance(infos, list):
            raise AnnotationError(f'{ann_file}: expected a list of image dicts, got {type(infos).__name__}')
        dropped = []
        for i, info in enumerate(infos):
            for key in ('filename', 'width', 'height'):
                if key not in info:
                    raise AnnotationError(f"{ann_file}: entry {i} has no '{key}'")
            ann = info.get('ann', {})
            try:
                bboxes = np.asarray(ann.get('bboxes', np.zeros((0, 4))), dtype=np.float32).reshape(-1, 4)
                labels = np.asarray(ann.get('labels', np.zeros(0)), dtype=np.int64).reshape(-1)
            except (TypeError, ValueError) as e:
                raise AnnotationError(f"{ann_file}: entry {i} ({info['filename']}) has malformed bboxes/labels "
                                      f'(want an (n, 4) array of numbers and n labels): {e}') from e
            if len(bboxes) != len(labels):
                raise AnnotationError(f"{ann_file}: entry {i} ({info['filename']}) has {len(bboxes)} boxes "
                                      f'but {len(labels)} labels')
            if self.CLASSES is not None and len(labels) and (labels.min() < 0 or labels.max() >= len(self.CLASSES)):
                raise AnnotationError(f"{ann_file}: entry {i} ({info['filename']}) has labels outside "
                                      f'[0, {len(self.CLASSES)})')
            ann = dict(ann, bboxes=bboxes, labels=labels)
            for key, label_key in (('bboxes', 'labels'), ('bboxes_ignore', 'labels_ignore')):
                try:
                    ann, faults = _drop_bad_boxes(ann, key, label_key)
                except (TypeError, ValueError) as e:
                    raise AnnotationError(f"{ann_file}: entry {i} ({info['filename']}) has malformed {key}: {e}") from e
                dropped += [f"entry {i} ({info['filename']}) {key}[{k}] {box}: {why}" for k, box, why in faults]
            info['ann'] = ann
        if dropped:
            more = f'; and {len(dropped) - 10} more' if len(dropped) > 10 else ''
            warnings.warn(f'{ann_file}: dropped {len(dropped)} box(es) that cannot be trained on: '
                          + '; '.join(dropped[:10]) + more)
        return infos

    def get_ann_info(self, idx):
        return self.data_infos[idx]['ann']

    def get_cat_ids(self, idx):
        return self.get_ann_info(idx)['labels'].astype(np.int64).tolist()

    def _filter_imgs(self, min_size=32):
        keep = []
        for i, info in enumerate(self.data_infos):
            if min(info['width'], info['height']) < min_size:
                continue
            if self.filter_empty_gt and len(self.get_ann_info(i)['bboxes']) == 0:
                continue
            keep.append(i)
        return keep

    def _on_filter(self, kept):
        """Hook for subclasses keeping per-image side tables in sync."""

    def _set_group_flag(self):
        self.flag = np.array([1 if info['width'] / info['height'] > 1 else 0 for info in self.data_infos],
                             dtype=np.uint8)

    # -- samples ---------------------------------------------------------
    def __len__(self):
        return len(self.data_infos)

    def pre_pipeline(self, results):
        results.update(img_prefix=self.img_prefix, seg_prefix=self.seg_prefix, proposal_file=None,
                       bbox_fields=[], mask_fields=[], seg_fields=[])

    def prepare_train_img(self, idx):
        results = dict(img_info=self.data_infos[idx], ann_info=self.get_ann_info(idx))
        self.pre_pipeline(results)
        return self.pipeline(results)

    def prepare_test_img(self, idx):
        results = dict(img_info=self.data_infos[idx])
        self.pre_pipeline(results)
        return self.pipeline(results)

    def _rand_another(self, idx):
        pool = np.where(self.flag == self.flag[idx])[0] if hasattr(self, 'flag') else np.arange(len(self))
        return int(np.random.choice(pool))

    def __getitem__(self, idx):
        if self.test_mode:  # results must stay aligned with the images: no substitute
            data = self.prepare_test_img(idx)
            if data is None:
                raise RuntimeError(
                    f"{type(self).__name__}: the test pipeline dropped image {idx} "
                    f"({self.data_infos[idx].get('filename')}); a test pipeline must not contain a step that "
                    f"returns None (RandomCrop, FilterAnnotations(keep_empty=True), Albu's skip_img_without_anno)")
            return data
        for _ in range(100):
            try:
                data = self.prepare_train_img(idx)
            except ImageReadError as e:
                if not self.skip_bad_images:
                    raise
                warnings.warn(f'skipping unreadable image: {e}')
                data = None
            if data is not None:
                return data
            idx = self._rand_another(idx)
        raise RuntimeError(f'{type(self).__name__}: 100 consecutive samples were dropped by the pipeline')

    # -- evaluation ------------------------------------------------------
    def evaluate(self, results, metric='mAP', logger=None, iou_thr=0.5, mode='area', **kwargs):
        """VOC-style mAP at ``iou_thr``; ``mode`` 'area' or '11points'."""
        metrics = metric if isinstance(metric, list) else [metric]
        unknown = [m for m in metrics if m != 'mAP']
        if unknown:
            raise KeyError(f'{type(self).__name__}.evaluate: metric(s) {unknown} not supported (use mAP)')
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        mean_ap, _ = eval_map(results, [self.get_ann_info(i) for i in range(len(self))], iou_thr, self, logger,
                              mode=mode)
        return {'mAP': round(mean_ap, 3)}

    def format_results(self, results, **kwargs):
        raise NotImplementedError(f'{type(self).__name__} has no result file format; use CocoDataset for json')

    def __repr__(self):
        return (f'{type(self).__name__}({"test" if self.test_mode else "train"}, {len(self)} images, '
                f'{len(self.CLASSES or [])} classes, ann_file={self.ann_file})')
