"""``mmcv.runner.dist_utils``: rank and world size, process-group setup, rank-0-only functions."""
import functools

from mmdet.utils import get_dist_info, init_dist

from .._missing import missing_for

__all__ = ['get_dist_info', 'init_dist', 'master_only']


def master_only(func):
    """Run ``func`` on rank 0 only (returns None elsewhere), as mmcv's decorator."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if get_dist_info()[0] == 0:
            return func(*args, **kwargs)
    return wrapper


__getattr__ = missing_for('mmcv.runner.dist_utils')
