"""VOC-style mean AP for datasets in the 2.x middle format."""
import numpy as np
from terminaltables import AsciiTable

from mmdet.utils import print_log


def _iou(a, b):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def tpfp(dets, gts, gts_ignore, iou_thr):
    """Greedy matching by score: (tp, fp) flags per detection.  Each detection
    takes the gt it overlaps most, ignored ones included; matching an ignored gt
    makes it neither a true nor a false positive (VOC's rule for "difficult")."""
    tp, fp = np.zeros(len(dets)), np.zeros(len(dets))
    if len(dets) == 0:
        return tp, fp
    if len(gts) + len(gts_ignore) == 0:
        fp[:] = 1
        return tp, fp
    order = np.argsort(-dets[:, 4], kind='stable')
    ious = _iou(dets[order], np.concatenate([gts.reshape(-1, 4), gts_ignore.reshape(-1, 4)]))
    covered = np.zeros(len(gts), bool)
    for j, i in enumerate(order):
        best = ious[j].argmax()
        if ious[j, best] < iou_thr:
            fp[i] = 1
        elif best >= len(gts):
            continue  # an ignored gt
        elif not covered[best]:
            covered[best], tp[i] = True, 1
        else:
            fp[i] = 1
    return tp, fp


def average_precision(recalls, precisions, mode='area'):
    """``area``: area under the monotone precision envelope (VOC2010 on);
    ``11points``: mean of the best precision at recall >= 0, 0.1, ..., 1 (VOC2007)."""
    if mode == '11points':
        recalls, precisions = np.asarray(recalls), np.asarray(precisions)
        return float(np.mean([precisions[recalls >= t].max() if (recalls >= t).any() else 0.0
                              for t in np.arange(0, 1.1, 0.1)]))
    if mode != 'area':
        raise ValueError(f"mAP mode must be 'area' or '11points', got '{mode}'")
    mrec = np.concatenate([[0], recalls, [1]])
    mpre = np.concatenate([[0], precisions, [0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def eval_map(det_results, annotations, iou_thr=0.5, dataset=None, logger=None, mode='area', print_table=True):
    """``det_results``: per image, per class (k, 5); ``annotations``: per image dict
    with ``bboxes``, ``labels`` (and optional ``bboxes_ignore``/``labels_ignore``:
    detections matching those are neither true nor false positives, as VOC's
    "difficult" objects).  ``mode``: 'area' or '11points' (VOC2007).
    Returns (mAP, per-class)."""
    num_classes = len(det_results[0]) if det_results else 0
    per_class = []
    for c in range(num_classes):
        scores, tps, fps, num_gts = [], [], [], 0
        for dets, ann in zip(det_results, annotations):
            d = np.asarray(dets[c]).reshape(-1, 5)
            gts = np.asarray(ann['bboxes']).reshape(-1, 4)[np.asarray(ann['labels']) == c]
            ign = np.asarray(ann.get('bboxes_ignore', np.zeros((0, 4)))).reshape(-1, 4)
            if 'labels_ignore' in ann:
                ign = ign[np.asarray(ann['labels_ignore']) == c]
            tp, fp = tpfp(d, gts, ign, iou_thr)
            scores.append(d[:, 4])
            tps.append(tp)
            fps.append(fp)
            num_gts += len(gts)
        order = np.argsort(-np.concatenate(scores)) if scores else np.zeros(0, int)
        tp = np.cumsum(np.concatenate(tps)[order])
        fp = np.cumsum(np.concatenate(fps)[order])
        recalls = tp / max(num_gts, 1)
        precisions = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        ap = average_precision(recalls, precisions, mode) if num_gts else 0.0
        per_class.append(dict(num_gts=num_gts, num_dets=len(order), recall=float(recalls[-1]) if len(recalls) else 0.,
                              ap=ap))
    valid = [r['ap'] for r in per_class if r['num_gts'] > 0]
    mean_ap = float(np.mean(valid)) if valid else 0.0
    names = getattr(dataset, 'CLASSES', None) or [str(i) for i in range(num_classes)]
    rows = [['class', 'gts', 'dets', 'recall', 'ap']]
    rows += [[names[i], r['num_gts'], r['num_dets'], f"{r['recall']:.3f}", f"{r['ap']:.3f}"]
             for i, r in enumerate(per_class)]
    rows.append(['mAP', '', '', '', f'{mean_ap:.3f}'])
    if print_table:
        table = AsciiTable(rows)
        table.inner_footing_row_border = True
        print_log('\n' + table.table, logger=logger)
    return mean_ap, per_class
