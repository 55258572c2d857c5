"""``mmcv.parallel`` names: DataContainer, collate, MMDataParallel, MMDistributedDataParallel."""
from mmdet.parallel import (DataContainer, MMDataParallel, MMDistributedDataParallel, collate, scatter,
                            scatter_kwargs)

from ._missing import missing

__all__ = ['DataContainer', 'collate', 'MMDataParallel', 'MMDistributedDataParallel', 'scatter', 'scatter_kwargs']


def __getattr__(name):
    return missing('mmcv.parallel', name)
