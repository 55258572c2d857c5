"""2.x's import path of :class:`DeltaXYWHBBoxCoder` (defined in :mod:`.delta_xywh`)."""
from .delta_xywh import DeltaXYWHBBoxCoder

__all__ = ['DeltaXYWHBBoxCoder']
