"""``mmcv.runner.optimizer.builder``: the optimizer registries (every ``torch.optim`` optimizer is in
``OPTIMIZERS``) and their builders."""
from mmdet.runner.optimizer import OPTIMIZER_BUILDERS, OPTIMIZERS, build_optimizer, build_optimizer_constructor

from ..._missing import missing_for

__all__ = ['OPTIMIZERS', 'OPTIMIZER_BUILDERS', 'build_optimizer', 'build_optimizer_constructor']

__getattr__ = missing_for('mmcv.runner.optimizer.builder')
