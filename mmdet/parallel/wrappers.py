"""Which modules wrap the model in ``.module`` (mmcv's ``MODULE_WRAPPERS`` / ``is_module_wrapper``), and
the model inside them."""
from torch.nn.parallel import DataParallel, DistributedDataParallel

from mmdet.utils import Registry

from .data_parallel import MMDataParallel, MMDistributedDataParallel

# register your own wrapper with ``@MODULE_WRAPPERS.register_module()`` so that is_module_wrapper knows it
MODULE_WRAPPERS = Registry('module wrapper')
for _cls in (DataParallel, DistributedDataParallel, MMDataParallel, MMDistributedDataParallel):
    MODULE_WRAPPERS.register_module(module=_cls)


def is_module_wrapper(module):
    """True when ``module`` wraps the model in ``module.module``: torch's ``DataParallel`` /
    ``DistributedDataParallel``, this toolbox's ``MMDataParallel`` / ``MMDistributedDataParallel``, or a class
    registered in ``MODULE_WRAPPERS`` (and their subclasses), as mmcv's."""
    return isinstance(module, tuple(MODULE_WRAPPERS.module_dict.values()))


def bare_model(model):
    """``model`` without its data-parallel wrappers (however deeply wrapped)."""
    while is_module_wrapper(model):
        model = model.module
    return model
