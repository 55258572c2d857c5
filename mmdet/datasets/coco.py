"""COCO-format detection dataset on pycocotools."""
import contextlib
import io
import json
import math
import numbers
import os.path as osp
import tempfile
import warnings

import numpy as np

from mmdet.core import coco_bbox_eval, results_to_coco_json

from .builder import DATASETS
from .custom import AnnotationError, CustomDataset, read_json

COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
    'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
    'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'teddy bear', 'hair drier', 'toothbrush')


def _is_number(v):
    return type(v) in (int, float) or (isinstance(v, numbers.Real) and not isinstance(v, bool))


def check_coco_structure(path, data):
    """The parts of the COCO format this dataset reads; errors name the file and the entry
    (``images[i]``, ``annotations[i]`` with its id)."""
    if not isinstance(data, dict):
        raise AnnotationError(f'annotation file {path} is not in COCO format: the top level is a '
                              f'{type(data).__name__}, not an object with "images", "annotations", "categories"')
    missing = [k for k in ('images', 'categories') if k not in data]
    if missing:
        raise AnnotationError(f'annotation file {path} lacks {missing}')
    for key in ('images', 'annotations', 'categories'):
        if key in data and not isinstance(data[key], list):
            raise AnnotationError(f'{path}: "{key}" is a {type(data[key]).__name__}, not a list')
    for i, img in enumerate(data['images']):
        if not isinstance(img, dict):
            raise AnnotationError(f'{path}: images[{i}] is a {type(img).__name__}, not an object')
        for key in ('id', 'file_name', 'width', 'height'):
            if key not in img:
                raise AnnotationError(f"{path}: image {img.get('id', f'images[{i}]')} has no '{key}'")
        for key in ('width', 'height'):
            if not _is_number(img[key]) or not img[key] > 0:
                raise AnnotationError(f"{path}: image {img['id']} ({img['file_name']}) has {key} {img[key]!r}")
    for i, cat in enumerate(data['categories']):
        if not isinstance(cat, dict) or 'id' not in cat or 'name' not in cat:
            raise AnnotationError(f"{path}: categories[{i}] is not an object with 'id' and 'name': {cat!r:.80}")
    for i, ann in enumerate(data.get('annotations', [])):
        if not isinstance(ann, dict):
            raise AnnotationError(f'{path}: annotations[{i}] is a {type(ann).__name__}, not an object')
        for key in ('id', 'image_id', 'category_id'):
            if key not in ann:
                name = f"annotation {ann['id']}" if 'id' in ann else f'annotations[{i}]'
                raise AnnotationError(f"{path}: {name} has no '{key}'")
    # pycocotools keeps the last entry of a repeated id: images would vanish and images get
    # another image's boxes.  2.x asserted unique annotation ids too.
    for key in ('images', 'annotations'):
        first = {}
        for i, entry in enumerate(data.get(key, [])):
            try:
                j = first.setdefault(entry['id'], i)
            except TypeError:
                raise AnnotationError(f"{path}: {key}[{i}] has an id of type {type(entry['id']).__name__}") from None
            if j != i:
                raise AnnotationError(f"{path}: {key[:-1]} id {entry['id']!r} is not unique ({key}[{j}] and "
                                      f'{key}[{i}])')


def bbox_fault(bbox):
    """Why a COCO ``[x, y, w, h]`` cannot be trained on, or None: 'malformed bbox ...' (not four
    numbers), 'bbox ... is not finite', 'bbox ... has zero/negative width/height'."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(map(_is_number, bbox)):
        return f'malformed bbox {bbox!r:.80} (want [x, y, width, height], four numbers)'
    if not all(math.isfinite(v) for v in bbox):
        return f'bbox {list(bbox)} is not finite'
    w, h = bbox[2:]
    for name, v in (('width', w), ('height', h)):
        if v < 0:
            return f'bbox {list(bbox)} has negative {name}'
    if w == 0 or h == 0:
        return f'bbox {list(bbox)} has zero {"width" if w == 0 else "height"}'
    return None


@DATASETS.register_module()
class CocoDataset(CustomDataset):
    """COCO json annotations; ``classes=`` picks (and orders) the categories used."""

    CLASSES = COCO_CLASSES

    @classmethod
    def image_file_name(cls, info, ann_file):
        """The file of the image record ``info`` (a dict of the json's ``images``), relative to
        ``img_prefix``: its ``file_name``.  Formats that name files otherwise (LVIS) override this; the
        dataset check (``mmdet.datasets.check``) uses it too."""
        return info['file_name']

    def load_annotations(self, ann_file):
        from pycocotools.coco import COCO
        data = read_json(ann_file)
        check_coco_structure(ann_file, data)
        self.coco = COCO()
        self.coco.dataset = data
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.coco.createIndex()
        except (KeyError, TypeError) as e:
            raise AnnotationError(f'annotation file {ann_file} is not in COCO format: {type(e).__name__}: {e}') from e
        self.cat_ids = self.coco.getCatIds(catNms=list(self.CLASSES))
        names = {c['id']: c['name'] for c in self.coco.loadCats(self.cat_ids)}
        # keep the order of CLASSES
        by_name = {v: k for k, v in names.items()}
        absent = [c for c in self.CLASSES if c not in by_name]
        if absent:
            raise AnnotationError(f'{ann_file}: classes {absent[:5]} are not among its categories '
                                  f'{sorted(c["name"] for c in self.coco.dataset["categories"])[:10]}')
        self.cat_ids = [by_name[c] for c in self.CLASSES]
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self.img_ids = self.coco.getImgIds()
        infos = []
        for i in self.img_ids:
            info = self.coco.loadImgs([i])[0]
            info['filename'] = self.image_file_name(info, ann_file)
            infos.append(info)
        known = set(self.coco.getCatIds())
        bad = {a['category_id'] for a in self.coco.dataset.get('annotations', [])} - known
        if bad:
            raise AnnotationError(f'{ann_file}: annotations use category ids {sorted(bad)[:10]} that are not '
                                  f'listed in "categories"')
        self._check_boxes(ann_file)
        return infos

    def _check_boxes(self, ann_file):
        """Once, at load: a malformed bbox of a used annotation is an error; a box that cannot be
        trained on (a NaN/inf coordinate, zero or negative width/height) is dropped with one warning
        naming each (up to 10): annotation id, image id and file."""
        dropped = []
        for ann in self.coco.dataset.get('annotations', []):
            if ann.get('ignore', False) or ann['category_id'] not in self.cat2label:
                continue
            fault = bbox_fault(ann.get('bbox'))
            if fault is None:
                continue
            img = self.coco.imgs.get(ann['image_id'], {})
            where = f"annotation {ann['id']} (image {ann['image_id']}, {img.get('file_name', 'not in images')})"
            if fault.startswith('malformed'):
                raise AnnotationError(f'{ann_file}: {where} has a {fault}')
            dropped.append(f'{where}: {fault}')
        if dropped:
            more = f'; and {len(dropped) - 10} more' if len(dropped) > 10 else ''
            warnings.warn(f'{ann_file}: dropped {len(dropped)} box(es) that cannot be trained on: '
                          + '; '.join(dropped[:10]) + more)

    def _on_filter(self, kept):
        self.img_ids = [self.img_ids[i] for i in kept]

    def get_ann_info(self, idx):
        img_id = self.data_infos[idx]['id']
        anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=[img_id]))
        return self._parse_ann_info(self.data_infos[idx], anns)

    def get_cat_ids(self, idx):
        img_id = self.data_infos[idx]['id']
        return [a['category_id'] for a in self.coco.loadAnns(self.coco.getAnnIds(imgIds=[img_id]))]

    def _filter_imgs(self, min_size=32):
        ids_with_ann = {a['image_id'] for a in self.coco.anns.values() if a['category_id'] in self.cat2label}
        keep = []
        for i, info in enumerate(self.data_infos):
            if self.filter_empty_gt and info['id'] not in ids_with_ann:
                continue
            if min(info['width'], info['height']) >= min_size:
                keep.append(i)
        return keep

    def _parse_ann_info(self, img_info, ann_info):
        """Boxes as (x1, y1, x2, y2); crowd boxes go to ``bboxes_ignore``.  Dropped: boxes with
        no area inside the image, ``area <= 0`` or under 1 px (silently, as 2.x), and boxes with a
        NaN/inf coordinate or zero/negative size (with a warning at load, see ``_check_boxes``)."""
        gt_bboxes, gt_labels, gt_ignore = [], [], []
        for ann in ann_info:
            if ann.get('ignore', False) or ann['category_id'] not in self.cat2label:
                continue
            bbox = ann.get('bbox')
            fault = bbox_fault(bbox)
            if fault is not None and fault.startswith('malformed'):
                raise AnnotationError(f"{self.ann_file}: annotation {ann.get('id')} of image {img_info['id']} "
                                      f'has a {fault}')
            if fault is not None:  # non-finite or zero/negative size: warned about at load
                continue
            x1, y1, w, h = bbox
            inter_w = max(0, min(x1 + w, img_info['width']) - max(x1, 0))
            inter_h = max(0, min(y1 + h, img_info['height']) - max(y1, 0))
            if inter_w * inter_h == 0 or ann.get('area', w * h) <= 0 or w < 1 or h < 1:
                continue  # as 2.x, silently: no area inside the image, area <= 0, or under 1 px
            box = [x1, y1, x1 + w, y1 + h]
            if ann.get('iscrowd', False):
                gt_ignore.append(box)
            else:
                gt_bboxes.append(box)
                gt_labels.append(self.cat2label[ann['category_id']])
        return dict(bboxes=np.array(gt_bboxes, dtype=np.float32).reshape(-1, 4),
                    labels=np.array(gt_labels, dtype=np.int64),
                    bboxes_ignore=np.array(gt_ignore, dtype=np.float32).reshape(-1, 4))

    def format_results(self, results, jsonfile_prefix=None, **kwargs):
        """Write ``<prefix>.bbox.json``; returns ``(result_files, tmp_dir)``."""
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        tmp_dir = None
        if jsonfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            jsonfile_prefix = osp.join(tmp_dir.name, 'results')
        dets = results_to_coco_json(results, self.img_ids, self.cat_ids)
        files = {'bbox': f'{jsonfile_prefix}.bbox.json'}
        with open(files['bbox'], 'w') as f:
            json.dump(dets, f)
        return files, tmp_dir

    def evaluate(self, results, metric='bbox', logger=None, jsonfile_prefix=None, classwise=False,
                 proposal_nums=(100, 300, 1000), iou_thrs=None, metric_items=None, backend=None):
        """COCO box AP; ``backend`` 'faster-coco-eval' or 'pycocotools' (default: the
        first installed; both give the same numbers)."""
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        return self._coco_evaluate(self.coco, self.img_ids, results, metric, logger, jsonfile_prefix, classwise,
                                   proposal_nums, iou_thrs, backend)

    def _coco_evaluate(self, coco_gt, img_ids, results, metric='bbox', logger=None, jsonfile_prefix=None,
                       classwise=False, proposal_nums=(100, 300, 1000), iou_thrs=None, backend=None):
        """Box AP of ``results`` (one per id of ``img_ids``) against ``coco_gt``, whose category
        ids are this dataset's ``cat_ids``."""
        metrics = metric if isinstance(metric, list) else [metric]
        unknown = [m for m in metrics if m != 'bbox']
        if unknown:
            raise KeyError(f'CocoDataset.evaluate: metric(s) {unknown} not supported (box detection: use bbox)')
        dets = results_to_coco_json(results, img_ids, self.cat_ids)
        if jsonfile_prefix is not None:
            with open(f'{jsonfile_prefix}.bbox.json', 'w') as f:
                json.dump(dets, f)
        return coco_bbox_eval(coco_gt, dets, img_ids, self.cat_ids, self.CLASSES, classwise,
                              proposal_nums, iou_thrs, logger, backend)


def merge_coco_ground_truth(datasets):
    """One pycocotools ``COCO`` holding the used images and annotations of several
    :class:`CocoDataset` s with the same ``CLASSES``.

    Images are re-numbered 1..N in dataset order (only those in each ``img_ids``, i.e. after
    filtering), annotations 1..M; category ids become those of ``datasets[0]`` (matched by
    label, i.e. by class name), and annotations of categories outside ``CLASSES`` are left out.
    Returns ``(coco, img_ids)``, ``img_ids`` in the order of the concatenated dataset.
    """
    from pycocotools.coco import COCO
    first = datasets[0]
    categories = {c['id']: dict(c) for c in first.coco.dataset['categories'] if c['id'] in first.cat2label}
    images, annotations, img_ids = [], [], []
    for d in datasets:
        if list(d.CLASSES) != list(first.CLASSES):
            raise ValueError(f'cannot merge COCO datasets with different CLASSES: {d.ann_file} has '
                             f'{d.CLASSES!r:.200}, {first.ann_file} has {first.CLASSES!r:.200}')
        to_first = {cat: first.cat_ids[label] for cat, label in d.cat2label.items()}
        for old_id in d.img_ids:
            new_id = len(images) + 1
            images.append(dict(d.coco.imgs[old_id], id=new_id))
            img_ids.append(new_id)
            for ann in d.coco.imgToAnns.get(old_id, []):
                if ann['category_id'] in to_first:
                    annotations.append(dict(ann, id=len(annotations) + 1, image_id=new_id,
                                            category_id=to_first[ann['category_id']]))
    coco = COCO()
    coco.dataset = dict(images=images, annotations=annotations, categories=list(categories.values()))
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco, img_ids


def evaluate_coco_jointly(datasets, results, logger=None, **kwargs):
    """Evaluate ``results`` (concatenated, in dataset order) of several :class:`CocoDataset` s as
    one dataset: their ground truths are merged (:func:`merge_coco_ground_truth`) and evaluated
    once with ``datasets[0]``'s settings; ``kwargs`` as :meth:`CocoDataset.evaluate`."""
    total = sum(len(d) for d in datasets)
    if len(results) != total:
        raise ValueError(f'{len(results)} results for {total} images')
    kwargs.pop('metric_items', None)
    coco, img_ids = merge_coco_ground_truth(datasets)
    return datasets[0]._coco_evaluate(coco, img_ids, results, logger=logger, **kwargs)
