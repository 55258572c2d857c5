from .fpn import FPN
from .hrfpn import HRFPN
from .nasfcos_fpn import NASFCOS_FPN
from .pafpn import PAFPN, PAFPNX

__all__ = ['FPN', 'PAFPN', 'PAFPNX', 'HRFPN', 'NASFCOS_FPN']
