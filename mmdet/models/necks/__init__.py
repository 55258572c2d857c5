from .fpn import FPN
from .pafpn import PAFPN, PAFPNX

__all__ = ['FPN', 'PAFPN', 'PAFPNX']
