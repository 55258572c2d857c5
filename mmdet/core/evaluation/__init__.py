from .coco_metric import coco_bbox_eval, results_to_coco_json
from .analysis import coco_error_analysis, per_image_map
from .mean_ap import average_precision, eval_map
from .eval_hooks import DistEvalHook, EvalHook

__all__ = ['coco_bbox_eval', 'results_to_coco_json', 'eval_map', 'average_precision', 'per_image_map',
           'coco_error_analysis', 'EvalHook', 'DistEvalHook']
