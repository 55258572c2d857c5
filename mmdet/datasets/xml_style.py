"""Pascal VOC style datasets: an image-id list plus one XML file per image."""
import os.path as osp
import xml.etree.ElementTree as ET

import numpy as np

from .builder import DATASETS
from .custom import AnnotationError, CustomDataset

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
               'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')


def parse_voc_xml(xml_path, classes, min_size=None):
    """One VOC annotation file -> ``(width, height, ann)``; ``ann`` holds
    ``bboxes``/``labels`` and, for objects marked ``difficult`` (or smaller than
    ``min_size``), ``bboxes_ignore``/``labels_ignore``.  Objects of classes not in
    ``classes`` are left out."""
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError) as e:
        raise AnnotationError(f'cannot read VOC annotation {xml_path}: {e}') from e
    try:
        return _parse_voc_root(root, xml_path, classes, min_size)
    except (AttributeError, TypeError, ValueError) as e:  # a missing tag or a non-number
        raise AnnotationError(f'{xml_path}: malformed VOC annotation ({type(e).__name__}: {e}); every <object> '
                              'needs <name> and <bndbox> with numeric xmin/ymin/xmax/ymax') from e


def _parse_voc_root(root, xml_path, classes, min_size):
    size = root.find('size')
    width = int(size.find('width').text) if size is not None else None
    height = int(size.find('height').text) if size is not None else None
    cat2label = {c: i for i, c in enumerate(classes)}
    boxes, labels, boxes_ign, labels_ign = [], [], [], []
    for obj in root.findall('object'):
        name = obj.find('name').text.strip()
        if name not in cat2label:
            continue
        difficult = obj.find('difficult')
        difficult = int(difficult.text) if difficult is not None and difficult.text else 0
        bnd = obj.find('bndbox')
        if bnd is None:
            raise AnnotationError(f"{xml_path}: object '{name}' has no bndbox")
        box = [int(float(bnd.find(k).text)) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
        small = min_size is not None and min(box[2] - box[0], box[3] - box[1]) < min_size
        (boxes_ign if difficult or small else boxes).append(box)
        (labels_ign if difficult or small else labels).append(cat2label[name])
    as_boxes = lambda b: np.array(b, np.float32).reshape(-1, 4)  # noqa: E731
    ann = dict(bboxes=as_boxes(boxes), labels=np.array(labels, np.int64),
               bboxes_ignore=as_boxes(boxes_ign), labels_ignore=np.array(labels_ign, np.int64))
    return width, height, ann


@DATASETS.register_module()
class XMLDataset(CustomDataset):
    """``ann_file`` lists image ids (``ImageSets/Main/trainval.txt``); each id
    has ``JPEGImages/<id>.jpg`` and ``Annotations/<id>.xml`` under ``img_prefix``."""

    def __init__(self, min_size=None, img_subdir='JPEGImages', ann_subdir='Annotations', **kwargs):
        self.img_subdir, self.ann_subdir, self.xml_min_size = img_subdir, ann_subdir, min_size
        super().__init__(**kwargs)

    @classmethod
    def xml_image_file(cls, img_id, xml_root, img_subdir):
        """The image file of ``img_id`` relative to ``img_prefix``: ``<img_subdir>/<id>.jpg``.

        Args:
            img_id (str): the id as listed in ``ann_file``.
            xml_root (xml.etree.ElementTree.Element): its parsed ``Annotations/<id>.xml``.
            img_subdir (str): the dataset's ``img_subdir``.
        Layouts that name files otherwise (WIDER Face) override this; the dataset check uses it too."""
        return osp.join(img_subdir, f'{img_id}.jpg')

    def load_annotations(self, ann_file):
        if self.CLASSES is None:
            raise AnnotationError(f'{type(self).__name__}: give classes=(...) (names as in the XML files)')
        with open(ann_file) as f:
            img_ids = [line.strip().split()[0] for line in f if line.strip()]
        infos = []
        for img_id in img_ids:
            xml_path = osp.join(self.img_prefix, self.ann_subdir, f'{img_id}.xml')
            width, height, ann = parse_voc_xml(xml_path, self.CLASSES, self.xml_min_size)
            filename = osp.join(self.img_subdir, f'{img_id}.jpg')
            if width is None or height is None:
                import cv2
                img = cv2.imread(osp.join(self.img_prefix, filename))
                if img is None:
                    raise AnnotationError(f'{xml_path} has no <size> and the image {filename} cannot be read')
                height, width = img.shape[:2]
            infos.append(dict(id=img_id, filename=filename, width=width, height=height, ann=ann))
        return infos

    def _filter_imgs(self, min_size=32):
        """Images of at least ``min_size`` px with at least one object of a known
        class, difficult ones included (as 2.x)."""
        keep = []
        for i, info in enumerate(self.data_infos):
            ann = info['ann']
            if min(info['width'], info['height']) < min_size:
                continue
            if self.filter_empty_gt and len(ann['bboxes']) + len(ann['bboxes_ignore']) == 0:
                continue
            keep.append(i)
        return keep


@DATASETS.register_module()
class VOCDataset(XMLDataset):
    """Pascal VOC; ``evaluate`` gives VOC mAP at IoU 0.5, 11-point for VOC2007
    (as its devkit) and area under the curve otherwise."""

    CLASSES = VOC_CLASSES

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        prefix = str(self.img_prefix)
        self.year = 2007 if 'VOC2007' in prefix else 2012 if 'VOC2012' in prefix else None

    def evaluate(self, results, metric='mAP', logger=None, iou_thr=0.5, mode=None, **kwargs):
        """VOC mAP; ``mode`` defaults to '11points' for VOC2007 and 'area' otherwise."""
        mode = mode or ('11points' if self.year == 2007 else 'area')
        return super().evaluate(results, metric, logger, iou_thr, mode=mode, **kwargs)


def voc_to_coco(img_prefix, ann_file, classes=VOC_CLASSES, img_subdir='JPEGImages', ann_subdir='Annotations'):
    """A VOC split (``ann_file`` of image ids under ``img_prefix``) as a COCO-format
    dict; difficult objects become ``iscrowd=1`` (ignored by COCO evaluation)."""
    with open(ann_file) as f:
        img_ids = [line.strip().split()[0] for line in f if line.strip()]
    images, annotations = [], []
    for i, img_id in enumerate(img_ids):
        xml_path = osp.join(img_prefix, ann_subdir, f'{img_id}.xml')
        width, height, ann = parse_voc_xml(xml_path, classes)
        if width is None:
            raise AnnotationError(f'{xml_path} has no <size>; the converter needs it')
        images.append(dict(id=i + 1, file_name=osp.join(img_subdir, f'{img_id}.jpg'), width=width, height=height))
        for boxes, labels, crowd in ((ann['bboxes'], ann['labels'], 0),
                                     (ann['bboxes_ignore'], ann['labels_ignore'], 1)):
            for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist()):
                annotations.append(dict(id=len(annotations) + 1, image_id=i + 1, category_id=int(label) + 1,
                                        bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=crowd))
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(classes)]
    return dict(images=images, annotations=annotations, categories=categories)
