"""``mmcv.utils`` names: config, registry, logging and type helpers."""
from mmdet.utils import (Config, ConfigDict, DictAction, Registry, build_from_cfg, get_logger, import_modules_from_strings,
                         print_log)

from ._missing import missing
from .fileio import mkdir_or_exist
from .misc import ProgressBar, digit_version, is_list_of, is_seq_of, is_str, is_tuple_of, track_iter_progress

__all__ = ['Config', 'ConfigDict', 'DictAction', 'Registry', 'build_from_cfg', 'get_logger', 'print_log',
           'import_modules_from_strings', 'mkdir_or_exist', 'ProgressBar', 'digit_version', 'is_list_of', 'is_seq_of',
           'is_str', 'is_tuple_of', 'track_iter_progress']


def __getattr__(name):
    return missing('mmcv.utils', name)
