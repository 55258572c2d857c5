from .config import Config, ConfigDict, ConfigError, DictAction
from .dist import (all_gather_object, barrier, broadcast_object, close_dist, dist_kwargs, get_dist_info,
                   init_dist, is_dist, reduce_mean)
from .errors import InvalidArgumentError
from .imports import import_modules_from_strings
from .logger import get_logger, get_root_logger, print_log
from .registry import BuildError, Registry, build_from_cfg

__all__ = [
    'Config', 'ConfigDict', 'ConfigError', 'DictAction', 'Registry', 'BuildError', 'build_from_cfg',
    'import_modules_from_strings', 'InvalidArgumentError', 'get_logger', 'get_root_logger', 'print_log',
    'get_dist_info', 'init_dist', 'close_dist', 'is_dist', 'reduce_mean', 'all_gather_object', 'broadcast_object',
    'barrier', 'dist_kwargs'
]
