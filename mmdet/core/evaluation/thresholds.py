"""Choosing a score threshold: the confusion matrix, and precision / recall / F1 against the
score threshold, per class and overall.

The confusion matrix counts as MMDetection 2.x's ``tools/analysis_tools/confusion_matrix.py``:
rows are the gt classes plus a last "background" row, columns the predicted classes plus a last
"background" column.  Every detection with ``score >= score_thr`` adds 1 to
``[gt label, det label]`` for *every* gt it overlaps at ``IoU >= tp_iou_thr`` (whatever the
classes), or to ``[background, det label]`` when it overlaps none; every gt that no detection of
its own class overlaps at ``tp_iou_thr`` adds 1 to ``[gt label, background]``.  With
``nms_iou_thr`` the detections of each class go through NMS first.

The precision / recall curves use the greedy one-to-one matching of
:func:`mmdet.core.evaluation.calibration.match_detections`: at threshold ``t`` a class has
``TP(t)`` matched detections with ``score >= t`` out of ``D(t)`` detections and ``G`` gts,
``precision = TP / D`` (1 when ``D = 0``), ``recall = TP / G``, ``F1 = 2PR / (P + R)``.  Greedy
matching in score order makes the matches above ``t`` the same as matching only the detections
above ``t``, so one matching serves all thresholds.  "overall" sums TP, D and G over classes.
"""
import os.path as osp

import numpy as np
import torch

from .calibration import box_iou, match_detections, save_figure, write_json


def confusion_matrix(results, annotations, num_classes, score_thr=0.3, tp_iou_thr=0.5, nms_iou_thr=None):
    """The ``(C + 1, C + 1)`` confusion matrix (rows gt + background, columns prediction +
    background) of 2.x results against per-image ``dict(bboxes, labels)``; see the module doc."""
    cm = np.zeros((num_classes + 1, num_classes + 1), dtype=np.int64)
    if len(results) != len(annotations):
        raise ValueError(f'{len(results)} results for {len(annotations)} annotated images')
    for per_class, ann in zip(results, annotations):
        gt_boxes = np.asarray(ann['bboxes'], np.float64).reshape(-1, 4)
        gt_labels = np.asarray(ann['labels'], np.int64).reshape(-1)
        found = np.zeros(len(gt_labels), bool)
        for c, dets in enumerate(per_class):
            dets = np.asarray(dets, np.float64).reshape(-1, 5)
            if nms_iou_thr:
                from mmdet.ops import nms
                keep = nms(torch.as_tensor(dets[:, :4], dtype=torch.float32),
                           torch.as_tensor(dets[:, 4], dtype=torch.float32), nms_iou_thr, score_threshold=score_thr)
                keep = keep[1] if isinstance(keep, tuple) else keep
                dets = dets[np.asarray(keep, dtype=np.int64).reshape(-1)]
            dets = dets[dets[:, 4] >= score_thr]
            if not len(dets):
                continue
            hit = box_iou(dets[:, :4], gt_boxes) >= tp_iou_thr  # (k, g)
            np.add.at(cm, (gt_labels, c), hit.sum(0))
            cm[-1, c] += int((~hit.any(1)).sum())
            found |= hit.any(0) & (gt_labels == c)
        np.add.at(cm, (gt_labels[~found], -1), 1)
    return cm


def plot_confusion_matrix(cm, class_names, out_file, title='Normalized Confusion Matrix'):
    """``cm`` as percentages of each gt row (a row without gts stays 0), with the values written
    in the cells; rows gt, columns prediction, the last of each "background"."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(class_names) + ['background']
    sums = cm.sum(1, keepdims=True)
    pct = np.divide(cm * 100.0, sums, out=np.zeros(cm.shape), where=sums > 0)
    n = len(names)
    fig, ax = plt.subplots(figsize=(max(4, 0.5 * n + 2), max(3.5, 0.5 * n + 1.5)))
    im = ax.imshow(pct, cmap='plasma', vmin=0, vmax=100)
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=45, ha='right', fontsize=8)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title(title)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f'{pct[i, j]:.0f}', ha='center', va='center', fontsize=7,
                        color='w' if pct[i, j] < 50 else 'k')
    fig.tight_layout()
    save_figure(fig, out_file)


def _prf(tp, d, g):
    """Precision, recall, F1 arrays from counts (precision 1 without detections, recall 0 without gts)."""
    tp, d, g = (np.asarray(v, np.float64) for v in (tp, d, g))
    p = np.divide(tp, d, out=np.ones(np.broadcast(tp, d).shape), where=d > 0)
    r = np.divide(tp, g, out=np.zeros(np.broadcast(tp, g).shape), where=g > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros(p.shape), where=(p + r) > 0)
    return p, r, f


def counts_at(scores, tp, thresholds):
    """``(TP(t), D(t))`` at each threshold: matched and all detections with ``score >= t``.

    Args:
        scores: ``(n,)`` detection scores; tp: ``(n,)`` bool, matched; thresholds: ``(T,)``.
    """
    order = np.argsort(scores, kind='stable')
    s = np.asarray(scores, np.float64)[order]
    cum_tp = np.concatenate([[0], np.cumsum(np.asarray(tp, np.int64)[order][::-1])])  # matched among the top k
    first = np.searchsorted(s, np.asarray(thresholds, np.float64), side='left')  # index of the first score >= t
    above = len(s) - first
    return cum_tp[above], above


def best_threshold(scores, tp, num_gts):
    """The threshold (one of the scores) of the highest F1, vectorised over all of them.

    Returns:
        dict ``thr``, ``precision``, ``recall``, ``f1`` (``thr`` None without detections or gts;
        the highest such threshold on a tie of F1).
    """
    scores = np.asarray(scores, np.float64)
    if not len(scores) or not num_gts:
        return dict(thr=None, precision=None, recall=None, f1=0.0)
    cand = np.unique(scores)[::-1]  # each distinct score as a threshold, high to low
    tp_c, d_c = counts_at(scores, tp, cand)
    p, r, f = _prf(tp_c, d_c, num_gts)
    i = int(np.argmax(f))
    return dict(thr=float(cand[i]), precision=float(p[i]), recall=float(r[i]), f1=float(f[i]))


def pr_vs_threshold(matches, class_names, thresholds=None):
    """Precision / recall / F1 at each threshold, per class and overall, and the best-F1
    threshold of each class (and of all classes together).

    Args:
        matches: :func:`match_detections` output.
        class_names: the class names.
        thresholds: ``(T,)`` score thresholds; default 0, 0.01, ..., 1.

    Returns:
        a json-ready dict: ``thresholds``, ``per_class`` and ``overall`` (each ``num_gts``,
        ``num_dets``, ``precision``, ``recall``, ``f1`` lists over thresholds and ``best``, a
        :func:`best_threshold` dict).
    """
    thresholds = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds, np.float64)
    tp = matches['gt'] >= 0
    out = dict(thresholds=thresholds.round(6).tolist(), per_class={})
    total_tp, total_d = np.zeros(len(thresholds)), np.zeros(len(thresholds))
    for c, name in enumerate(class_names):
        sel = matches['label'] == c
        g = int(matches['num_gts'][c])
        t, d = counts_at(matches['score'][sel], tp[sel], thresholds)
        total_tp, total_d = total_tp + t, total_d + d
        p, r, f = _prf(t, d, g)
        out['per_class'][name] = dict(num_gts=g, num_dets=int(sel.sum()), precision=p.tolist(), recall=r.tolist(),
                                      f1=f.tolist(), best=best_threshold(matches['score'][sel], tp[sel], g))
    g = int(matches['num_gts'].sum())
    p, r, f = _prf(total_tp, total_d, g)
    out['overall'] = dict(num_gts=g, num_dets=int(len(tp)), precision=p.tolist(), recall=r.tolist(), f1=f.tolist(),
                          best=best_threshold(matches['score'], tp, g))
    return out


def plot_pr_vs_threshold(curves, out_file, max_classes=20):
    """Three panels, precision, recall and F1 against the score threshold: "overall" thick
    black, each class (the first ``max_classes``) thin, its best-F1 threshold marked on F1."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    t = np.asarray(curves['thresholds'])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharex=True, sharey=True)
    named = list(curves['per_class'].items())[:max_classes] + [('overall', curves['overall'])]
    for name, cur in named:
        overall = name == 'overall'
        kw = dict(color='k', linewidth=2.5) if overall else dict(linewidth=1)
        for ax, key in zip(axes, ('precision', 'recall', 'f1')):
            line, = ax.plot(t, cur[key], label=name, **kw)
        best = cur['best']
        if best['thr'] is not None:
            axes[2].plot([best['thr']], [best['f1']], 'o', color=line.get_color())
    for ax, key in zip(axes, ('precision', 'recall', 'F1')):
        ax.set_xlabel('score threshold')
        ax.set_title(key)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    b = curves['overall']['best']
    if b['thr'] is not None:
        axes[2].set_title(f"F1 (overall best {b['f1']:.3f} at {b['thr']:.3f})")
    axes[2].legend(fontsize=7, loc='lower left')
    fig.tight_layout()
    save_figure(fig, out_file)


def score_thresholds(results, annotations, class_names, out_dir, iou_thr=0.5, thresholds=None):
    """:func:`pr_vs_threshold` written as ``out_dir/score_thresholds.json`` and ``.png``."""
    curves = pr_vs_threshold(match_detections(results, annotations, iou_thr), class_names, thresholds)
    curves['match_iou'] = iou_thr
    write_json(curves, osp.join(out_dir, 'score_thresholds.json'))
    plot_pr_vs_threshold(curves, osp.join(out_dir, 'score_thresholds.png'))
    return curves


def confusion_matrix_report(results, annotations, class_names, out_dir, score_thr=0.3, tp_iou_thr=0.5,
                            nms_iou_thr=None):
    """:func:`confusion_matrix` written as ``out_dir/confusion_matrix.json`` (counts, names,
    options) and ``out_dir/confusion_matrix.png`` (row-normalised)."""
    cm = confusion_matrix(results, annotations, len(class_names), score_thr, tp_iou_thr, nms_iou_thr)
    write_json(dict(classes=list(class_names) + ['background'], rows='ground truth', columns='prediction',
                    score_thr=score_thr, tp_iou_thr=tp_iou_thr, nms_iou_thr=nms_iou_thr, matrix=cm.tolist()),
               osp.join(out_dir, 'confusion_matrix.json'))
    plot_confusion_matrix(cm, class_names, osp.join(out_dir, 'confusion_matrix.png'))
    return cm
