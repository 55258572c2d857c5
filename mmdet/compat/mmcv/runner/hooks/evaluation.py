"""``mmcv.runner.hooks.evaluation``: the evaluation hooks (:mod:`mmdet.core.evaluation.eval_hooks`)."""
from mmdet.core.evaluation.eval_hooks import DistEvalHook, EvalHook

from ..._missing import missing_for

__all__ = ['EvalHook', 'DistEvalHook']

__getattr__ = missing_for('mmcv.runner.hooks.evaluation')
