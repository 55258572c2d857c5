"""mmcv 1.x's top-level names used by MMDetection 2.x code (importable as ``mmcv``
when the real mmcv is not installed).  The mapping: docs/porting_2x.md."""
from mmdet.utils import Config, ConfigDict, DictAction, Registry, build_from_cfg, print_log

from ._missing import missing
from .fileio import dict_from_file, dump, list_from_file, load, mkdir_or_exist
from .image import bgr2rgb, imflip, imfrombytes, imnormalize, impad, imread, imrescale, imresize, imwrite, rgb2bgr
from .misc import (ProgressBar, digit_version, is_list_of, is_seq_of, is_str, is_tuple_of, track_iter_progress,
                   track_progress)

__version__ = '1.3.17'  # the mmcv API level this layer follows (the last 1.x line MMDetection 2.x used)

__all__ = ['Config', 'ConfigDict', 'DictAction', 'Registry', 'build_from_cfg', 'print_log', 'load', 'dump',
           'mkdir_or_exist', 'list_from_file', 'dict_from_file', 'imread', 'imwrite', 'imfrombytes', 'imresize', 'imrescale', 'imflip', 'impad',
           'imnormalize', 'bgr2rgb', 'rgb2bgr', 'is_str', 'is_list_of', 'is_tuple_of', 'is_seq_of', 'ProgressBar',
           'track_iter_progress', 'track_progress', 'digit_version']


def __getattr__(name):
    return missing('mmcv', name)
