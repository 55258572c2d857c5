"""``mmcv.runner.optimizer``: registries, builders and the default constructor (:mod:`mmdet.runner.optimizer`)."""
from ..._missing import missing_for
from .builder import OPTIMIZER_BUILDERS, OPTIMIZERS, build_optimizer, build_optimizer_constructor
from .default_constructor import DefaultOptimizerConstructor

__all__ = ['OPTIMIZERS', 'OPTIMIZER_BUILDERS', 'build_optimizer', 'build_optimizer_constructor',
           'DefaultOptimizerConstructor']

__getattr__ = missing_for('mmcv.runner.optimizer')
