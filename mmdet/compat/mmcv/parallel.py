"""``mmcv.parallel`` names: DataContainer, collate, MMDataParallel, MMDistributedDataParallel, and
``is_module_wrapper`` with its ``MODULE_WRAPPERS`` registry."""
from mmdet.parallel import (MODULE_WRAPPERS, DataContainer, MMDataParallel, MMDistributedDataParallel, collate,
                            is_module_wrapper, scatter, scatter_kwargs)

from ._missing import missing

__all__ = ['DataContainer', 'collate', 'MMDataParallel', 'MMDistributedDataParallel', 'scatter', 'scatter_kwargs',
           'MODULE_WRAPPERS', 'is_module_wrapper']


def __getattr__(name):
    return missing('mmcv.parallel', name)
