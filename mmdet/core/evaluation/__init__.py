from .coco_metric import coco_bbox_eval, results_to_coco_json
from .analysis import coco_error_analysis, per_image_map
from .mean_ap import average_precision, eval_map
from .calibration import calibration_report, iou_calibration, match_detections, reliability, spearman
from .eval_hooks import DistEvalHook, EvalHook
from .oracle import apply_oracle, oracle_ap, oracle_eval
from .thresholds import confusion_matrix, pr_vs_threshold, score_thresholds

__all__ = ['coco_bbox_eval', 'results_to_coco_json', 'eval_map', 'average_precision', 'per_image_map',
           'coco_error_analysis', 'EvalHook', 'DistEvalHook',
           'calibration_report', 'iou_calibration', 'match_detections', 'reliability', 'spearman', 'apply_oracle',
           'oracle_ap', 'oracle_eval', 'confusion_matrix', 'pr_vs_threshold', 'score_thresholds']
