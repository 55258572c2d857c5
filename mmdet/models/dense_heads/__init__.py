from .base_dense_head import BaseDenseHead
from .vfnet_head import VFNetHead, VFNetRawHead

__all__ = ['BaseDenseHead', 'VFNetHead', 'VFNetRawHead']
