"""COCO box evaluation with pycocotools, printed as the 2.x tables."""
import contextlib
import io
import itertools

import numpy as np
from terminaltables import AsciiTable

from mmdet.utils import print_log

METRIC_NAMES = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l']


def results_to_coco_json(results, img_ids, cat_ids):
    """2.x results (per image, per class (k, 5) xyxy+score) -> COCO detection dicts."""
    out = []
    for img_id, per_class in zip(img_ids, results):
        for label, dets in enumerate(per_class):
            for x1, y1, x2, y2, score in np.asarray(dets).reshape(-1, 5):
                out.append(dict(image_id=int(img_id), category_id=int(cat_ids[label]),
                                bbox=[float(x1), float(y1), float(x2 - x1), float(y2 - y1)], score=float(score)))
    return out


def coco_bbox_eval(coco_gt, dets_json, img_ids, cat_ids, class_names, classwise=False,
                   proposal_nums=(100, 300, 1000), iou_thrs=None, logger=None):
    """Run COCOeval on box detections; returns ``{'bbox_mAP': ..., 'bbox_mAP_copypaste': ...}``."""
    from pycocotools.cocoeval import COCOeval
    eval_results = {}
    if not dets_json:
        print_log('The testing results of the whole dataset are empty: all box metrics are 0.', logger=logger)
        for m in METRIC_NAMES:
            eval_results[f'bbox_{m}'] = 0.0
        eval_results['bbox_mAP_copypaste'] = ' '.join(['0.000'] * 6)
        return eval_results
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(dets_json)
    coco_eval = COCOeval(coco_gt, coco_dt, 'bbox')
    coco_eval.params.catIds = list(cat_ids)
    coco_eval.params.imgIds = list(img_ids)
    coco_eval.params.maxDets = list(proposal_nums)
    if iou_thrs is not None:
        coco_eval.params.iouThrs = np.asarray(iou_thrs)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    print_log('\nEvaluating bbox...\n' + buf.getvalue(), logger=logger)
    if classwise:
        precisions = coco_eval.eval['precision']  # (iou, recall, cls, area, maxDets)
        rows = []
        for idx, _ in enumerate(cat_ids):
            p = precisions[:, :, idx, 0, -1]
            p = p[p > -1]
            rows.append((class_names[idx], f'{float(np.mean(p)) if p.size else float("nan"):0.3f}'))
        n_cols = min(6, len(rows) * 2)
        flat = list(itertools.chain(*rows))
        header = ['category', 'AP'] * (n_cols // 2)
        table = AsciiTable([header] + [list(r) for r in itertools.zip_longest(*[flat[i::n_cols] for i in range(n_cols)])])
        print_log('\n' + table.table, logger=logger)
    for i, m in enumerate(METRIC_NAMES):
        eval_results[f'bbox_{m}'] = float(f'{coco_eval.stats[i]:.3f}')
    eval_results['bbox_mAP_copypaste'] = ' '.join(f'{coco_eval.stats[i]:.3f}' for i in range(6))
    return eval_results
