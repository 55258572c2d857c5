from .bfp import BFP
from .channel_mapper import ChannelMapper
from .fpn import FPN
from .hrfpn import HRFPN
from .nas_fpn import NASFPN
from .nasfcos_fpn import NASFCOS_FPN
from .pafpn import PAFPN, PAFPNX

__all__ = ['FPN', 'PAFPN', 'PAFPNX', 'HRFPN', 'NASFCOS_FPN', 'BFP', 'ChannelMapper', 'NASFPN']
