"""``mmcv.parallel`` names: DataContainer, collate, MMDataParallel."""
from mmdet.parallel import DataContainer, MMDataParallel, collate, scatter, scatter_kwargs

from ._missing import missing

__all__ = ['DataContainer', 'collate', 'MMDataParallel', 'scatter', 'scatter_kwargs']


def __getattr__(name):
    return missing('mmcv.parallel', name)
