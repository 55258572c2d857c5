from .base_dense_head import BaseDenseHead
from .vfnet_head import VFNetHead

__all__ = ['BaseDenseHead', 'VFNetHead']
