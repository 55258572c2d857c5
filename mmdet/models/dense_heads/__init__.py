from .anchor_free_head import AnchorFreeHead
from .anchor_head import AnchorHead
from .atss_head import ATSSHead, ATSSRawHead, ATSSVGFLHead
from .base_dense_head import BaseDenseHead
from .fcos_head import FCOSHead
from .fovea_head import FoveaHead
from .free_anchor_retina_head import FreeAnchorRetinaHead
from .fsaf_head import FSAFHead
from .gfl_head import GFLHead
from .nasfcos_head import NASFCOSHead
from .paa_head import PAAHead
from .pisa_retinanet_head import PISARetinaHead
from .reppoints_head import RepPointsHead
from .retina_head import RetinaHead
from .retina_sepbn_head import RetinaSepBNHead
from .sabl_retina_head import SABLRetinaHead
from .vfnet_head import VFNetHead, VFNetRawHead

__all__ = ['BaseDenseHead', 'AnchorHead', 'AnchorFreeHead', 'VFNetHead', 'VFNetRawHead', 'ATSSHead', 'ATSSVGFLHead',
           'ATSSRawHead', 'RetinaHead', 'FoveaHead', 'RepPointsHead', 'GFLHead', 'PAAHead', 'FCOSHead', 'NASFCOSHead',
           'FreeAnchorRetinaHead', 'FSAFHead', 'RetinaSepBNHead', 'PISARetinaHead', 'SABLRetinaHead']
