from .dist_utils import reduce_mean
from .misc import multi_apply, tensor2imgs, unmap

__all__ = ['reduce_mean', 'multi_apply', 'unmap', 'tensor2imgs']
