from .builder import DATASETS, build_dataloader, build_dataset
from .coco import COCO_CLASSES, CocoDataset
from .custom import AnnotationError, CustomDataset
from .dataset_wrappers import ClassBalancedDataset, ConcatDataset, RepeatDataset
from .pipelines import PIPELINES, Compose, ImageReadError
from .xml_style import VOC_CLASSES, VOCDataset, XMLDataset, parse_voc_xml, voc_to_coco
from .samplers import DistributedGroupSampler, DistributedSampler, GroupSampler
from .utils import get_loading_pipeline, replace_ImageToTensor

__all__ = ['DATASETS', 'PIPELINES', 'build_dataset', 'build_dataloader', 'CocoDataset', 'COCO_CLASSES',
           'CustomDataset', 'ConcatDataset', 'ClassBalancedDataset', 'RepeatDataset', 'Compose', 'GroupSampler', 'DistributedGroupSampler',
           'DistributedSampler', 'AnnotationError', 'ImageReadError', 'XMLDataset', 'VOCDataset', 'VOC_CLASSES',
           'parse_voc_xml', 'voc_to_coco', 'replace_ImageToTensor', 'get_loading_pipeline']
