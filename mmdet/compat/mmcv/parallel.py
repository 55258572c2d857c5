"""``mmcv.parallel`` names: DataContainer, collate, MMDataParallel, MMDistributedDataParallel, and
``is_module_wrapper`` with its ``MODULE_WRAPPERS`` registry."""
from torch.nn.parallel import DataParallel, DistributedDataParallel

from mmdet.parallel import (DataContainer, MMDataParallel, MMDistributedDataParallel, collate, scatter,
                            scatter_kwargs)
from mmdet.utils import Registry

from ._missing import missing

__all__ = ['DataContainer', 'collate', 'MMDataParallel', 'MMDistributedDataParallel', 'scatter', 'scatter_kwargs',
           'MODULE_WRAPPERS', 'is_module_wrapper']

# mmcv.parallel.MODULE_WRAPPERS: the classes whose instances wrap the model in ``.module``; register your own
# wrapper with ``@MODULE_WRAPPERS.register_module()`` so that ``is_module_wrapper`` knows it
MODULE_WRAPPERS = Registry('module wrapper')
for _cls in (DataParallel, DistributedDataParallel, MMDataParallel, MMDistributedDataParallel):
    MODULE_WRAPPERS.register_module(module=_cls)


def is_module_wrapper(module):
    """True when ``module`` wraps the model in ``module.module``: torch's ``DataParallel`` /
    ``DistributedDataParallel``, this toolbox's ``MMDataParallel`` / ``MMDistributedDataParallel``, or a class
    registered in ``MODULE_WRAPPERS`` (and their subclasses), as mmcv's."""
    return isinstance(module, tuple(MODULE_WRAPPERS.module_dict.values()))


def __getattr__(name):
    return missing('mmcv.parallel', name)
