from .builder import DATASETS, build_dataloader, build_dataset
from .check import CheckReport, check_config, check_dataset_cfg
from .cityscapes import CityscapesDataset
from .coco import COCO_CLASSES, CocoDataset
from .custom import AnnotationError, CustomDataset
from .dataset_wrappers import ClassBalancedDataset, ConcatDataset, RepeatDataset
from .lvis import LVISDataset, LVISV05Dataset, LVISV1Dataset
from .multi_image_mix import MultiImageMixDataset
from .object_crop import ObjectCrop, ObjectCropDataset
from .pipelines import PIPELINES, Compose, ImageReadError
from .samplers import DistributedGroupSampler, DistributedSampler, GroupSampler
from .utils import get_loading_pipeline, replace_ImageToTensor
from .wider_face import WIDERFaceDataset
from .xml_style import VOC_CLASSES, VOCDataset, XMLDataset, parse_voc_xml, voc_to_coco
from .yolo import YOLODataset, yolo_to_coco

__all__ = ['DATASETS', 'PIPELINES', 'build_dataset', 'build_dataloader', 'CocoDataset', 'COCO_CLASSES',
           'CustomDataset', 'ConcatDataset', 'ClassBalancedDataset', 'RepeatDataset', 'Compose', 'GroupSampler',
           'DistributedGroupSampler', 'DistributedSampler', 'AnnotationError', 'ImageReadError', 'XMLDataset',
           'VOCDataset', 'VOC_CLASSES', 'parse_voc_xml', 'voc_to_coco', 'replace_ImageToTensor',
           'get_loading_pipeline', 'CityscapesDataset', 'LVISDataset', 'LVISV05Dataset', 'LVISV1Dataset',
           'WIDERFaceDataset', 'YOLODataset', 'yolo_to_coco', 'CheckReport', 'check_config', 'check_dataset_cfg',
           'MultiImageMixDataset', 'ObjectCrop', 'ObjectCropDataset']
