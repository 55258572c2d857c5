"""``mmcv.runner.checkpoint``: loading and saving weights (see :mod:`mmdet.runner.checkpoint`; 2.x
checkpoints are read without executing their pickles, pretrained names resolve from the hub cache)."""
import logging

from mmdet.runner.checkpoint import _load_matching, load_checkpoint, load_state_dict_file, save_checkpoint
from mmdet.utils import get_dist_info, print_log

from .._missing import missing_for

__all__ = ['load_checkpoint', 'save_checkpoint', '_load_checkpoint', 'load_state_dict']


def _load_checkpoint(filename, map_location=None, logger=None):
    """The raw checkpoint dict of ``filename`` (a path, or a ``torchvision://`` / ``open-mmlab://`` name found
    in the torch hub cache), as mmcv's: nothing is loaded into a model."""
    return load_state_dict_file(filename, map_location=map_location)


def load_state_dict(module, state_dict, strict=False, logger=None):
    """Load ``state_dict`` into ``module`` (a wrapper's ``.module``), as mmcv's: tensors whose shape differs
    are left as they are; with ``strict`` any missing, unexpected or mismatched key is a ``RuntimeError``,
    else they are reported to ``logger`` (printed when None)."""
    from ..parallel import is_module_wrapper
    if is_module_wrapper(module):
        module = module.module
    missing, unexpected, mismatched = _load_matching(module, state_dict, strict, 'state_dict')
    missing = [k for k in missing if 'num_batches_tracked' not in k]
    msgs = []
    if unexpected:
        msgs.append(f'unexpected key in source state_dict: {", ".join(unexpected)}')
    if missing:
        msgs.append(f'missing keys in source state_dict: {", ".join(missing)}')
    if mismatched:
        msgs.append(f'size mismatch (left as initialised): {"; ".join(mismatched)}')
    if msgs and get_dist_info()[0] == 0:
        msg = '\n'.join(['The model and loaded state dict do not match exactly'] + msgs)
        if logger is None:
            print(msg)
        else:
            print_log(msg, logger, level=logging.WARNING)


__getattr__ = missing_for('mmcv.runner.checkpoint')
