from .anchor_free_head import AnchorFreeHead
from .anchor_head import AnchorHead
from .atss_head import ATSSHead, ATSSRawHead, ATSSVGFLHead
from .base_dense_head import BaseDenseHead
from .fovea_head import FoveaHead
from .reppoints_head import RepPointsHead
from .retina_head import RetinaHead
from .vfnet_head import VFNetHead, VFNetRawHead

__all__ = ['BaseDenseHead', 'AnchorHead', 'AnchorFreeHead', 'VFNetHead', 'VFNetRawHead', 'ATSSHead', 'ATSSVGFLHead',
           'ATSSRawHead', 'RetinaHead', 'FoveaHead', 'RepPointsHead']
