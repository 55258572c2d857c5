"""Oracle experiments of the VarifocalNet paper (Table 1), applied to saved detections.

Each oracle replaces part of a detection with its ground-truth value and measures the COCO box
AP the detector would reach with that part perfect.  Detections are matched to the gts of their
own class by :func:`mmdet.core.evaluation.calibration.match_detections` (greedy by score, COCO
style, at ``iou_thr``, 0.5 by default).  With ``s`` the detection's score, ``iou`` its best IoU
with a same-class gt (0 when the image has none) and "matched" meaning the greedy matching gave
it a gt:

============== ==============================================================================
oracle         what changes
============== ==============================================================================
``gt_bbox``    matched detections get the box of their gt (their IoU becomes 1); scores kept
``gt_cls``     matched detections get score 1; the others keep ``s``
``gt_iou``     every detection gets score ``iou`` (the IoU-aware classification score target)
``gt_cls`` +   matched detections get ``1 * iou``, the others ``s * iou``
``gt_iou``
============== ==============================================================================

``gt_bbox`` is applied first, so combined with ``gt_iou`` the IoUs are those of the replaced
boxes.  A combination is written ``'gt_cls+gt_iou'``.
"""
import numpy as np

from .calibration import box_iou, match_detections, save_figure, write_json
from .coco_metric import coco_bbox_eval, results_to_coco_json

ORACLES = ('gt_bbox', 'gt_cls', 'gt_iou')
DEFAULT_EXPERIMENTS = ('baseline', 'gt_bbox', 'gt_cls', 'gt_iou', 'gt_cls+gt_iou', 'gt_bbox+gt_cls',
                       'gt_bbox+gt_iou', 'gt_bbox+gt_cls+gt_iou')


def parse_oracle(name):
    """``'gt_cls+gt_iou'`` -> ``frozenset({'gt_cls', 'gt_iou'})``; ``'baseline'`` -> empty."""
    if name == 'baseline':
        return frozenset()
    parts = frozenset(p.strip() for p in name.split('+'))
    unknown = sorted(parts - set(ORACLES))
    if unknown:
        raise ValueError(f"unknown oracle {unknown} in '{name}': use 'baseline' or '+'-joined names of {ORACLES}")
    return parts


def apply_oracle(results, annotations, oracle, iou_thr=0.5, matches=None):
    """``results`` with the parts named by ``oracle`` replaced by their ground truth.

    Args:
        results: per image, a list over classes of ``(k, 5)`` arrays.
        annotations: per image ``dict(bboxes, labels)``.
        oracle: a name as ``'gt_cls+gt_iou'`` or a set of :data:`ORACLES`.
        iou_thr: the least IoU of a match.
        matches: :func:`match_detections` of ``results`` at ``iou_thr``, if already made.

    Returns:
        new results, the same structure and detection order as ``results``.
    """
    parts = parse_oracle(oracle) if isinstance(oracle, str) else frozenset(oracle)
    m = matches if matches is not None else match_detections(results, annotations, iou_thr)
    boxes, score, matched = m['bbox'].copy(), m['score'].copy(), m['gt'] >= 0
    if 'gt_bbox' in parts and matched.any():
        gt_boxes = [np.asarray(a['bboxes'], np.float64).reshape(-1, 4) for a in annotations]
        boxes[matched] = np.stack([gt_boxes[i][j] for i, j in zip(m['img'][matched], m['gt'][matched])])
    iou = m['best_iou']
    if 'gt_bbox' in parts and 'gt_iou' in parts:
        iou = _best_iou_again(boxes, m, annotations)
    if 'gt_cls' in parts and 'gt_iou' in parts:
        score = np.where(matched, 1.0, score) * iou
    elif 'gt_iou' in parts:
        score = iou
    elif 'gt_cls' in parts:
        score = np.where(matched, 1.0, score)
    return _unflatten(results, m, boxes, score)


def _best_iou_again(boxes, m, annotations):
    """The best same-class IoU of ``boxes`` (one per row of ``m``)."""
    out = np.zeros(len(boxes))
    for i in np.unique(m['img']):
        gts = np.asarray(annotations[i]['bboxes'], np.float64).reshape(-1, 4)
        labels = np.asarray(annotations[i]['labels']).reshape(-1)
        rows = np.flatnonzero(m['img'] == i)
        ious = box_iou(boxes[rows], gts)  # (r, g)
        same = labels[None, :] == m['label'][rows][:, None]
        out[rows] = np.where(same, ious, 0.).max(1, initial=0.)
    return out


def _unflatten(results, m, boxes, score):
    """Rows of :func:`match_detections` (made in image, class, detection order) back into 2.x results."""
    out, row = [], 0
    for per_class in results:
        img = []
        for dets in per_class:
            k = len(np.asarray(dets).reshape(-1, 5))
            img.append(np.column_stack([boxes[row:row + k], score[row:row + k]]).astype(np.float32).reshape(-1, 5))
            row += k
        out.append(img)
    return out


def oracle_ap(results, dataset, experiments=DEFAULT_EXPERIMENTS, iou_thr=0.5, logger='silent'):
    """COCO box AP of each oracle experiment on a COCO-style ``dataset`` (``coco``, ``img_ids``,
    ``cat_ids``, ``CLASSES``, ``get_ann_info``).

    Returns:
        ``{experiment: {'bbox_mAP': ..., 'bbox_mAP_50': ..., ...}}`` in the order of
        ``experiments`` (``'baseline'`` is the results as they are).
    """
    annotations = [dataset.get_ann_info(i) for i in range(len(dataset))]
    matches = match_detections(results, annotations, iou_thr)
    out = {}
    for name in experiments:
        parts = parse_oracle(name)
        res = apply_oracle(results, annotations, parts, iou_thr, matches) if parts else results
        dets = results_to_coco_json(res, dataset.img_ids, dataset.cat_ids)
        metrics = coco_bbox_eval(dataset.coco, dets, dataset.img_ids, dataset.cat_ids, dataset.CLASSES,
                                 logger=logger)
        out[name] = {k: v for k, v in metrics.items() if k != 'bbox_mAP_copypaste'}
    return out


def plot_oracle(aps, out_file, metric='bbox_mAP'):
    """A bar per experiment of ``aps`` (the output of :func:`oracle_ap`), its AP written on it,
    the baseline as a dashed line."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(aps)
    values = [aps[n][metric] for n in names]
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(names)), 4.5))
    bars = ax.bar(range(len(names)), values, color=['tab:gray' if n == 'baseline' else 'tab:blue' for n in names])
    for b, v in zip(bars, values):
        ax.text(b.get_x() + b.get_width() / 2, v + 0.01, f'{v:.3f}', ha='center', fontsize=8)
    if 'baseline' in aps:
        ax.axhline(aps['baseline'][metric], color='k', linestyle='--', linewidth=1)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace('+', '\n+') for n in names], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(metric)
    ax.set_title('oracle experiments (VarifocalNet Table 1)')
    fig.tight_layout()
    save_figure(fig, out_file)


def oracle_eval(results, dataset, out_dir, experiments=DEFAULT_EXPERIMENTS, iou_thr=0.5):
    """:func:`oracle_ap`, written as ``out_dir/oracle.json`` and ``out_dir/oracle.png``."""
    import os.path as osp
    aps = oracle_ap(results, dataset, experiments, iou_thr)
    write_json(dict(match_iou=iou_thr, experiments=aps), osp.join(out_dir, 'oracle.json'))
    plot_oracle(aps, osp.join(out_dir, 'oracle.png'))
    return aps
