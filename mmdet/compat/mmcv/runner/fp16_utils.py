"""``mmcv.runner.fp16_utils``: the fp16 decorators, on torch autocast (see :mod:`mmdet.runner.fp16`)."""
from mmdet.runner.fp16 import auto_fp16, force_fp32, wrap_fp16_model

from .._missing import missing_for

__all__ = ['auto_fp16', 'force_fp32', 'wrap_fp16_model']

__getattr__ = missing_for('mmcv.runner.fp16_utils')
