"""COCO-format detection dataset on pycocotools."""
import contextlib
import io
import json
import os.path as osp
import tempfile

import numpy as np

from mmdet.core import coco_bbox_eval, results_to_coco_json

from .builder import DATASETS
from .custom import AnnotationError, CustomDataset

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


@DATASETS.register_module()
class CocoDataset(CustomDataset):
    """COCO json annotations; ``classes=`` picks (and orders) the categories used."""

    CLASSES = COCO_CLASSES

    def load_annotations(self, ann_file):
        from pycocotools.coco import COCO
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.coco = COCO(ann_file)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise AnnotationError(f'annotation file {ann_file} is not valid JSON: {e}') from e
        except (KeyError, TypeError, AssertionError) as e:
            raise AnnotationError(f'annotation file {ann_file} is not in COCO format: {type(e).__name__}: {e}') from e
        missing = [k for k in ('images', 'categories') if k not in self.coco.dataset]
        if missing:
            raise AnnotationError(f'annotation file {ann_file} lacks {missing}')
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
            for key in ('file_name', 'width', 'height'):
                if key not in info:
                    raise AnnotationError(f"{ann_file}: image {i} has no '{key}'")
            info['filename'] = info['file_name']
            infos.append(info)
        known = set(self.coco.getCatIds())
        bad = {a['category_id'] for a in self.coco.dataset.get('annotations', [])} - known
        if bad:
            raise AnnotationError(f'{ann_file}: annotations use category ids {sorted(bad)[:10]} that are not '
                                  f'listed in "categories"')
        return infos

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
        """Boxes as (x1, y1, x2, y2); crowd boxes go to ``bboxes_ignore``;
        boxes with no area inside the image, or under 1 px, are dropped."""
        gt_bboxes, gt_labels, gt_ignore = [], [], []
        for ann in ann_info:
            if ann.get('ignore', False) or ann['category_id'] not in self.cat2label:
                continue
            bbox = ann.get('bbox')
            if bbox is None or len(bbox) != 4:
                raise AnnotationError(f"{self.ann_file}: annotation {ann.get('id')} of image {img_info['id']} "
                                      f'has a malformed bbox {bbox!r}')
            x1, y1, w, h = bbox
            inter_w = max(0, min(x1 + w, img_info['width']) - max(x1, 0))
            inter_h = max(0, min(y1 + h, img_info['height']) - max(y1, 0))
            if inter_w * inter_h == 0 or ann.get('area', w * h) <= 0 or w < 1 or h < 1:
                continue
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
        metrics = metric if isinstance(metric, list) else [metric]
        unknown = [m for m in metrics if m != 'bbox']
        if unknown:
            raise KeyError(f'CocoDataset.evaluate: metric(s) {unknown} not supported (box detection: use bbox)')
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        dets = results_to_coco_json(results, self.img_ids, self.cat_ids)
        if jsonfile_prefix is not None:
            with open(f'{jsonfile_prefix}.bbox.json', 'w') as f:
                json.dump(dets, f)
        return coco_bbox_eval(self.coco, dets, self.img_ids, self.cat_ids, self.CLASSES, classwise,
                              proposal_nums, iou_thrs, logger, backend)
