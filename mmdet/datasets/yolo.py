"""YOLO-format (Ultralytics) detection sets: a ``data.yaml`` with ``names`` and split paths,
``images/<split>/*.jpg`` and ``labels/<split>/*.txt`` with one ``class cx cy w h`` line per
object, normalised to [0, 1] by the image size."""
import contextlib
import glob
import io
import os
import os.path as osp
import warnings

import numpy as np

from mmdet.core import coco_bbox_eval, results_to_coco_json

from .builder import DATASETS
from .custom import AnnotationError, CustomDataset

IMG_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp')
_EXIF_ORIENTATION = 0x0112


def read_data_yaml(data_yaml):
    """``data.yaml`` -> ``(root, names, splits)``: ``root`` its ``path`` (relative to the yaml's
    folder; default that folder), ``names`` a tuple (from a list, or a dict ``{index: name}``
    with indices 0..n-1), ``splits`` ``{split: [paths]}`` for the ``train``/``val``/``test``
    entries present, each path an image folder or a ``.txt`` list of images, made absolute."""
    import yaml
    try:
        with open(data_yaml) as f:
            cfg = yaml.safe_load(f)
    except OSError as e:
        raise AnnotationError(f'cannot read YOLO data file {data_yaml}: {e.strerror or e}') from e
    except yaml.YAMLError as e:
        raise AnnotationError(f'YOLO data file {data_yaml} is not valid YAML: {e}') from e
    if not isinstance(cfg, dict) or 'names' not in cfg:
        raise AnnotationError(f"YOLO data file {data_yaml} has no 'names' (the class names)")
    names = cfg['names']
    if isinstance(names, dict):
        if sorted(names) != list(range(len(names))):
            raise AnnotationError(f'{data_yaml}: names keys must be the class indices 0..{len(names) - 1}, '
                                  f'got {sorted(names)!r:.100}')
        names = [names[i] for i in range(len(names))]
    if not isinstance(names, list) or not names:
        raise AnnotationError(f'{data_yaml}: names must be a non-empty list or dict, got {names!r:.100}')
    if 'nc' in cfg and cfg['nc'] != len(names):
        raise AnnotationError(f"{data_yaml}: nc is {cfg['nc']} but names has {len(names)} entries")
    here = osp.dirname(osp.abspath(data_yaml))
    root = osp.normpath(osp.join(here, str(cfg.get('path') or '.')))
    splits = {}
    for split in ('train', 'val', 'test'):
        value = cfg.get(split)
        if value:
            paths = value if isinstance(value, list) else [value]
            splits[split] = [osp.normpath(osp.join(root, str(p))) for p in paths]
    return root, tuple(str(n) for n in names), splits


def list_images(path):
    """The images of a split path: a folder (searched recursively) or a ``.txt`` file listing
    image paths (relative ones to the file's parent folder, as Ultralytics), sorted."""
    if osp.isdir(path):
        found = glob.glob(osp.join(path, '**', '*.*'), recursive=True)
        return sorted(p for p in found if p.lower().endswith(IMG_EXTENSIONS))
    if osp.isfile(path) and path.endswith('.txt'):
        base = osp.dirname(osp.dirname(path))
        with open(path) as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        return sorted(osp.normpath(osp.join(base, ln)) for ln in lines)
    raise AnnotationError(f'YOLO split path {path} is neither an image folder nor a .txt image list')


def label_path(img_path):
    """Ultralytics' rule: the last ``/images/`` of the path becomes ``/labels/``, the extension ``.txt``."""
    sa, sb = f'{os.sep}images{os.sep}', f'{os.sep}labels{os.sep}'
    head, sep, tail = img_path.rpartition(sa)
    path = head + sb + tail if sep else img_path
    return osp.splitext(path)[0] + '.txt'


def image_size(img_path):
    """``(width, height)`` as the image loader will see it (EXIF orientation applied), from the header."""
    from PIL import Image
    try:
        with Image.open(img_path) as im:
            width, height = im.size
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    except OSError as e:
        raise AnnotationError(f'cannot read image {img_path}: {e}') from e
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def parse_yolo_labels(txt_path, num_classes, width, height):
    """One label file -> ``(bboxes (n, 4) float32 x1y1x2y2 pixels, labels (n,) int64)``.

    A line is ``class cx cy w h`` (or ``class x1 y1 x2 y2 ... xk yk``, a polygon of k >= 3
    points: its extent), values normalised to [0, 1]; boxes are clipped to the image.  A line of
    another length, a non-number, a class outside [0, ``num_classes``) or a coordinate outside
    [0, 1] is an error naming the file and line.  Boxes under 1 px wide or high are dropped
    with a warning.  A missing file means no objects."""
    if not osp.isfile(txt_path):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    boxes, labels, tiny = [], [], []
    with open(txt_path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            where = f'{txt_path} line {lineno} ({line.strip()!r:.80})'
            if len(parts) != 5 and (len(parts) < 7 or len(parts) % 2 == 0):
                raise AnnotationError(f'{where}: want "class cx cy w h" (5 values) or a polygon "class x1 y1 ... '
                                      f'xk yk" (k >= 3), got {len(parts)} values')
            try:
                values = [float(v) for v in parts]
            except ValueError:
                raise AnnotationError(f'{where}: not all values are numbers') from None
            cls = values[0]
            if cls != int(cls) or not 0 <= cls < num_classes:
                raise AnnotationError(f'{where}: class {parts[0]} is not an integer in [0, {num_classes})')
            coords = np.array(values[1:])
            if not np.isfinite(coords).all() or coords.min() < 0 or coords.max() > 1:
                raise AnnotationError(f'{where}: coordinates must be normalised to [0, 1]')
            if len(parts) == 5:
                cx, cy, w, h = coords
                box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
            else:
                xs, ys = coords[0::2], coords[1::2]
                box = [xs.min(), ys.min(), xs.max(), ys.max()]
            x1, y1, x2, y2 = np.clip(np.array(box) * [width, height, width, height], 0, [width, height] * 2)
            if x2 - x1 < 1 or y2 - y1 < 1:
                tiny.append(lineno)
                continue
            boxes.append([x1, y1, x2, y2])
            labels.append(int(cls))
    if tiny:
        warnings.warn(f'{txt_path}: dropped boxes under 1 px on line(s) {tiny[:10]}')
    return np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64)


def load_yolo_split(data_yaml, split, classes=None):
    """All images of ``split`` -> ``(root, class_names, infos)``.

    ``infos``: 2.x middle format, ``{filename (relative to root where under it), width, height,
    ann: {bboxes (n, 4) x1y1x2y2 pixels, labels (n,)}}``.  ``classes`` (names, a subset of the
    yaml's, in any order) keeps only those objects, labelled by their position in ``classes``."""
    root, names, splits = read_data_yaml(data_yaml)
    if split not in splits:
        raise AnnotationError(f'{data_yaml} has no {split!r} split (it has {sorted(splits)})')
    if classes is None:
        classes = names
    absent = [c for c in classes if c not in names]
    if absent:
        raise AnnotationError(f'{data_yaml}: classes {absent[:5]} are not among its names {list(names)[:10]}')
    remap = np.full(len(names), -1, np.int64)
    for new, c in enumerate(classes):
        remap[names.index(c)] = new
    images = [p for path in splits[split] for p in list_images(path)]
    if not images:
        raise AnnotationError(f'{data_yaml}: split {split!r} ({splits[split]}) has no images')
    infos = []
    for img_path in images:
        width, height = image_size(img_path)
        bboxes, labels = parse_yolo_labels(label_path(img_path), len(names), width, height)
        labels = remap[labels]
        keep = labels >= 0
        rel = osp.relpath(img_path, root)
        filename = img_path if rel.startswith('..') else rel
        infos.append(dict(id=len(infos) + 1, filename=filename, width=width, height=height,
                          ann=dict(bboxes=bboxes[keep], labels=labels[keep])))
    return root, tuple(classes), infos


def infos_to_coco(infos, classes):
    """2.x middle-format infos -> a COCO-format dict (image ids as ``info['id']``, category ids
    label + 1, boxes ``[x, y, w, h]``)."""
    images, annotations = [], []
    for info in infos:
        images.append(dict(id=info['id'], file_name=info['filename'], width=info['width'], height=info['height']))
        for (x1, y1, x2, y2), label in zip(info['ann']['bboxes'].tolist(), info['ann']['labels'].tolist()):
            annotations.append(dict(id=len(annotations) + 1, image_id=info['id'], category_id=label + 1,
                                    bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=0))
    return dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=name) for i, name in enumerate(classes)])


def yolo_to_coco(data_yaml, split):
    """A YOLO split as a COCO-format dict, ``file_name`` relative to the yaml's root."""
    _, names, infos = load_yolo_split(data_yaml, split)
    return infos_to_coco(infos, names)


@DATASETS.register_module()
class YOLODataset(CustomDataset):
    """A YOLO-format set: ``ann_file`` its ``data.yaml``, ``split`` 'train', 'val' or 'test'.

    ``CLASSES`` are the yaml's ``names`` (or ``classes=``, a subset: other objects are left
    out).  Images without a label file have no objects.  ``img_prefix`` defaults to the
    yaml's root (image file names are relative to it).  ``evaluate``: COCO box AP
    (``metric='bbox'``, the ground truth converted to COCO in memory) or VOC ``'mAP'``.
    """

    def __init__(self, ann_file, pipeline, split='train', img_prefix=None, **kwargs):
        self.split = split
        self._auto_prefix = img_prefix is None
        super().__init__(ann_file=ann_file, pipeline=pipeline, img_prefix=img_prefix, **kwargs)

    def load_annotations(self, ann_file):
        root, self.CLASSES, infos = load_yolo_split(ann_file, self.split, self.CLASSES)
        if self._auto_prefix:
            self.img_prefix = root
        return infos

    def evaluate(self, results, metric='bbox', logger=None, classwise=False, proposal_nums=(100, 300, 1000),
                 iou_thrs=None, backend=None, **kwargs):
        """COCO box AP (``bbox_mAP``, ``bbox_mAP_50``, ...) for 'bbox'; VOC ``mAP`` for 'mAP'."""
        if metric == 'mAP' or metric == ['mAP']:
            return super().evaluate(results, 'mAP', logger, **kwargs)
        metrics = metric if isinstance(metric, list) else [metric]
        if [m for m in metrics if m != 'bbox']:
            raise KeyError(f'YOLODataset.evaluate: metric {metric} not supported (use bbox or mAP)')
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        from pycocotools.coco import COCO
        coco = COCO()
        coco.dataset = infos_to_coco(self.data_infos, self.CLASSES)
        with contextlib.redirect_stdout(io.StringIO()):
            coco.createIndex()
        img_ids = [info['id'] for info in self.data_infos]
        cat_ids = list(range(1, len(self.CLASSES) + 1))
        dets = results_to_coco_json(results, img_ids, cat_ids)
        return coco_bbox_eval(coco, dets, img_ids, cat_ids, self.CLASSES, classwise, proposal_nums, iou_thrs,
                              logger, backend)
