"""WIDER Face in Pascal VOC xml form (one class, 'face')."""
import os.path as osp
import xml.etree.ElementTree as ET

from .builder import DATASETS
from .custom import AnnotationError
from .xml_style import XMLDataset, parse_voc_xml


@DATASETS.register_module()
class WIDERFaceDataset(XMLDataset):
    """WIDER Face converted to VOC xml (e.g. by github.com/sovrasov/wider-face-pascal-voc-annotations).

    Layout (2.x): ``ann_file`` lists image ids (``0_Parade_marchingband_1_849``); each has
    ``<img_prefix>/Annotations/<id>.xml`` whose ``<folder>`` names the event folder holding
    the image, ``<img_prefix>/<folder>/<id>.jpg``.  Faces marked ``difficult``, and with
    ``min_size`` those with a side under ``min_size`` px, are ignored boxes (``bboxes_ignore``).
    Evaluation: VOC mAP at IoU 0.5 (:meth:`CustomDataset.evaluate`).
    """

    CLASSES = ('face', )

    @classmethod
    def xml_image_file(cls, img_id, xml_root, img_subdir):
        """``<folder>/<id>.jpg``, ``<folder>`` the event folder the xml names (``img_subdir`` unused)."""
        folder = xml_root.find('folder')
        if folder is None or not (folder.text or '').strip():
            raise AnnotationError('no <folder> (the WIDER event folder of the image)')
        return osp.join(folder.text.strip(), f'{img_id}.jpg')

    def load_annotations(self, ann_file):
        with open(ann_file) as f:
            img_ids = [line.strip().split()[0] for line in f if line.strip()]
        infos = []
        for img_id in img_ids:
            xml_path = osp.join(self.img_prefix, self.ann_subdir, f'{img_id}.xml')
            width, height, ann = parse_voc_xml(xml_path, self.CLASSES, self.xml_min_size)
            try:
                filename = self.xml_image_file(img_id, ET.parse(xml_path).getroot(), self.img_subdir)
            except AnnotationError as e:
                raise AnnotationError(f'{xml_path}: {e}') from None
            if width is None or height is None:
                raise AnnotationError(f'{xml_path}: no <size> with <width> and <height>')
            infos.append(dict(id=img_id, filename=filename, width=width, height=height, ann=ann))
        return infos
