"""Cityscapes instances as boxes, from the COCO-format json of the 2.x converter
(``tools/dataset_converters/cityscapes.py``: ``instancesonly_filtered_gtFine_<split>.json``)."""
from .builder import DATASETS
from .coco import CocoDataset


@DATASETS.register_module()
class CityscapesDataset(CocoDataset):
    """The 8 Cityscapes instance classes; box detection only.

    Loading, box parsing and ``evaluate`` (COCO box AP, ``bbox_mAP`` ...) are
    :class:`CocoDataset`'s.  As 2.x, training skips images whose annotations are all crowd.
    Out of scope here: 2.x's instance-segmentation evaluation with ``cityscapesscripts``
    (``metric='cityscapes'``, mask results and ``results2txt``): this toolbox's detectors
    predict boxes only.
    """

    CLASSES = ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')

    def _filter_imgs(self, min_size=32):
        keep = super()._filter_imgs(min_size)
        if not self.filter_empty_gt:
            return keep
        has_non_crowd = {a['image_id'] for a in self.coco.anns.values()
                         if a['category_id'] in self.cat2label and not a.get('iscrowd', False)}
        return [i for i in keep if self.data_infos[i]['id'] in has_non_crowd]
