"""How well detection scores predict localisation quality (IoU).

The building block, :func:`match_detections`, flattens 2.x results (per image, a list over
classes of ``(k, 5)`` arrays ``[x1, y1, x2, y2, score]``) into one row per detection and matches
every detection to the ground truth greedily by score, as COCO does: within an image and a
class, detections in decreasing score order each take the still-unmatched gt they overlap
most, if that IoU is at least ``iou_thr``.  Each row keeps two IoUs:

* ``best_iou``: the highest IoU with any gt of the same class (0 when the image has none),
  whether or not the detection was matched -- the localisation quality of the box itself,
  which is what the VarifocalNet IoU-aware classification score is trained to predict;
* ``matched_iou``: the IoU with the gt it was matched to, 0 for unmatched detections
  (duplicates and false positives) -- what a score would have to predict to rank true
  positives first.

The calibration report (:func:`calibration_report`) uses either (``iou_kind='best'``, the
default, or ``'matched'``).  Crowd / ignored gts (``bboxes_ignore``) take no part: a detection
on a crowd region is unmatched.
"""
import json
import os
import os.path as osp

import numpy as np
import torch

from mmdet.core.bbox import bbox_overlaps

IOU_KINDS = ('best', 'matched')


def box_iou(a, b):
    """IoU of ``(m, 4)`` vs ``(n, 4)`` numpy boxes ``[x1, y1, x2, y2]`` -> ``(m, n)`` float64,
    through :func:`mmdet.core.bbox.bbox_overlaps`."""
    a = torch.as_tensor(np.asarray(a, dtype=np.float64).reshape(-1, 4))
    b = torch.as_tensor(np.asarray(b, dtype=np.float64).reshape(-1, 4))
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return bbox_overlaps(a, b).numpy()


def greedy_match(ious, scores, iou_thr):
    """COCO's greedy matching of one image and class.

    Args:
        ious: ``(k, g)`` IoU of the detections with the gts.
        scores: ``(k,)`` detection scores; higher scores choose first (ties: input order).
        iou_thr: the least IoU of a match.

    Returns:
        ``(k,)`` int array: the index of the matched gt, -1 for unmatched detections.
    """
    k, g = ious.shape
    gt_of = np.full(k, -1, dtype=np.int64)
    if k == 0 or g == 0:
        return gt_of
    taken = np.zeros(g, dtype=bool)
    for i in np.argsort(-np.asarray(scores), kind='stable'):
        cand = np.where(taken, -1.0, ious[i])
        j = int(cand.argmax())
        if cand[j] >= iou_thr:
            gt_of[i], taken[j] = j, True
    return gt_of


def match_detections(results, annotations, iou_thr=0.5):
    """Every detection of ``results`` as one row, matched to the same-class gts.

    Args:
        results: per image, a list over classes of ``(k, 5)`` arrays.
        annotations: per image, a dict with ``bboxes`` ``(g, 4)`` and ``labels`` ``(g,)``
            (``dataset.get_ann_info(i)``).
        iou_thr: the least IoU of a match (COCO's AP50 matching at 0.5).

    Returns:
        dict of flat arrays over the N detections: ``img`` (N,) image index, ``label`` (N,),
        ``bbox`` (N, 4), ``score`` (N,), ``best_iou`` (N,), ``best_gt`` (N,) index of the
        best-overlapping same-class gt in the image's gt list (-1 if none), ``matched_iou``
        (N,), ``gt`` (N,) index of the matched gt in the image's gt list (-1 if unmatched);
        and ``num_gts`` (C,), the number of gts of each class, and ``num_classes``.
    """
    if len(results) != len(annotations):
        raise ValueError(f'{len(results)} results for {len(annotations)} annotated images')
    num_classes = len(results[0]) if results else 0
    cols = {k: [] for k in ('img', 'label', 'bbox', 'score', 'best_iou', 'best_gt', 'matched_iou', 'gt')}
    num_gts = np.zeros(num_classes, dtype=np.int64)
    for img, (per_class, ann) in enumerate(zip(results, annotations)):
        if len(per_class) != num_classes:
            raise ValueError(f'image {img} has results for {len(per_class)} classes, image 0 for {num_classes}')
        gt_boxes = np.asarray(ann['bboxes'], dtype=np.float64).reshape(-1, 4)
        gt_labels = np.asarray(ann['labels'], dtype=np.int64).reshape(-1)
        num_gts += np.bincount(gt_labels, minlength=num_classes)[:num_classes]
        for c, dets in enumerate(per_class):
            dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
            if not len(dets):
                continue
            gt_idx = np.flatnonzero(gt_labels == c)
            ious = box_iou(dets[:, :4], gt_boxes[gt_idx])
            local = greedy_match(ious, dets[:, 4], iou_thr)
            has_gt = len(gt_idx) > 0
            best = ious.argmax(1) if has_gt else np.zeros(len(dets), np.int64)
            cols['img'].append(np.full(len(dets), img))
            cols['label'].append(np.full(len(dets), c))
            cols['bbox'].append(dets[:, :4])
            cols['score'].append(dets[:, 4])
            cols['best_iou'].append(ious.max(1) if has_gt else np.zeros(len(dets)))
            cols['best_gt'].append(gt_idx[best] if has_gt else np.full(len(dets), -1))
            cols['matched_iou'].append(np.where(local >= 0, ious[np.arange(len(dets)), np.maximum(local, 0)], 0.)
                                       if has_gt else np.zeros(len(dets)))
            cols['gt'].append(np.where(local >= 0, gt_idx[np.maximum(local, 0)], -1) if has_gt
                              else np.full(len(dets), -1))
    empty = dict(img=(0,), label=(0,), bbox=(0, 4), score=(0,), best_iou=(0,), best_gt=(0,), matched_iou=(0,), gt=(0,))
    out = {k: np.concatenate(v) if v else np.zeros(empty[k]) for k, v in cols.items()}
    for k in ('img', 'label', 'best_gt', 'gt'):
        out[k] = out[k].astype(np.int64)
    out['num_gts'] = num_gts
    out['num_classes'] = num_classes
    return out


def rankdata(x):
    """Average ranks (1-based, ties share the mean of their ranks) of a 1-D array, vectorised;
    the same as ``scipy.stats.rankdata(x, 'average')``."""
    x = np.asarray(x).reshape(-1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # rank of the last member of each tie group
    return (ends - (counts - 1) / 2.0)[inverse.reshape(-1)]


def spearman(x, y):
    """Spearman rank correlation of two 1-D arrays: Pearson's correlation of their average
    ranks (ties handled as scipy does).  NaN when fewer than 2 values or either is constant."""
    x, y = np.asarray(x, np.float64).reshape(-1), np.asarray(y, np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f'spearman: {x.shape} vs {y.shape} values')
    if len(x) < 2:
        return float('nan')
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float('nan')


def reliability(scores, ious, num_bins=10):
    """Scores binned into ``num_bins`` equal bins of [0, 1] (a score of 1 in the last bin).

    Returns:
        dict: ``edges`` (B+1,), ``count`` (B,), ``mean_score`` (B,), ``mean_iou`` (B,) (NaN in
        empty bins) and ``ece``, the expected calibration error of the score as an IoU
        predictor: ``sum_b n_b / N * |mean_score_b - mean_iou_b|`` (NaN without detections).
    """
    scores, ious = np.asarray(scores, np.float64).reshape(-1), np.asarray(ious, np.float64).reshape(-1)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    b = np.clip(np.floor(scores * num_bins).astype(np.int64), 0, num_bins - 1)
    count = np.bincount(b, minlength=num_bins).astype(np.int64)
    with np.errstate(invalid='ignore', divide='ignore'):
        mean_score = np.bincount(b, scores, minlength=num_bins) / count
        mean_iou = np.bincount(b, ious, minlength=num_bins) / count
    gap = np.abs(mean_score - mean_iou)
    ece = float((count * np.nan_to_num(gap)).sum() / count.sum()) if count.sum() else float('nan')
    return dict(edges=edges, count=count, mean_score=mean_score, mean_iou=mean_iou, ece=ece)


def calibration_report(matches, class_names, num_bins=10, iou_kind='best'):
    """Reliability, Spearman correlation and ECE of score vs IoU, overall and per class.

    Args:
        matches: the output of :func:`match_detections`.
        class_names: a name for each class.
        num_bins: the score bins of the reliability curve.
        iou_kind: ``'best'`` (best same-class IoU of every detection) or ``'matched'`` (IoU with
            the matched gt, 0 when unmatched).

    Returns:
        a json-ready dict: ``iou_kind``, ``num_dets``, ``overall`` and ``per_class`` (name ->
        ``num_dets``, ``spearman``, ``ece``, ``bins``), ``bins`` a list of dicts with ``lo``,
        ``hi``, ``count``, ``mean_score``, ``mean_iou`` (None where empty).
    """
    if iou_kind not in IOU_KINDS:
        raise ValueError(f'iou_kind must be one of {IOU_KINDS}, got {iou_kind!r}')
    if len(class_names) != matches['num_classes']:
        raise ValueError(f'{len(class_names)} class names for results of {matches["num_classes"]} classes')
    ious = matches[f'{iou_kind}_iou']

    def one(sel):
        rel = reliability(matches['score'][sel], ious[sel], num_bins)
        bins = [dict(lo=float(rel['edges'][i]), hi=float(rel['edges'][i + 1]), count=int(rel['count'][i]),
                     mean_score=_num(rel['mean_score'][i]), mean_iou=_num(rel['mean_iou'][i]))
                for i in range(num_bins)]
        return dict(num_dets=int(sel.sum()), spearman=_num(spearman(matches['score'][sel], ious[sel])),
                    ece=_num(rel['ece']), bins=bins)

    report = dict(iou_kind=iou_kind, num_dets=int(len(ious)), overall=one(np.ones(len(ious), bool)))
    report['per_class'] = {name: one(matches['label'] == c) for c, name in enumerate(class_names)}
    return report


def _num(v):
    """A float for json, None for NaN."""
    v = float(v)
    return None if np.isnan(v) else v


def plot_reliability(reports, labels, out_file, title=None):
    """Reliability diagrams side by side, one panel per report (e.g. a VFL and an FL model):
    mean IoU of each score bin as bars, the diagonal of perfect calibration, the number of
    detections of each bin written at its foot; ECE and Spearman in the panel titles."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(reports), figsize=(5 * len(reports), 4.5), squeeze=False, sharey=True)
    for ax, rep, label in zip(axes[0], reports, labels):
        bins = rep['overall']['bins']
        lo = np.array([b['lo'] for b in bins])
        width = bins[0]['hi'] - bins[0]['lo']
        mean_iou = np.array([np.nan if b['mean_iou'] is None else b['mean_iou'] for b in bins])
        ax.bar(lo, np.nan_to_num(mean_iou), width=width, align='edge', edgecolor='k', color='tab:blue',
               alpha=.7, label=f"mean {rep['iou_kind']} IoU")
        ax.plot([0, 1], [0, 1], 'k--', linewidth=1, label='score = IoU')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel('score')
        o = rep['overall']
        fmt = lambda v: 'n/a' if v is None else f'{v:.3f}'  # noqa: E731
        ax.set_title(f"{label}\nECE {fmt(o['ece'])}  Spearman {fmt(o['spearman'])}  ({o['num_dets']} dets)",
                     fontsize=9)
        for x, b in zip(lo, bins):  # the detections of each non-empty bin, written at its foot
            if b['count']:
                ax.text(x + width / 2, 0.01, str(b['count']), ha='center', va='bottom', fontsize=7, rotation=90)
        ax.legend(loc='upper left', fontsize=8)
    axes[0][0].set_ylabel('mean IoU')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, out_file)


def save_figure(fig, out_file):
    """Write a matplotlib figure to ``out_file`` (its folder made) and close it."""
    import matplotlib.pyplot as plt
    d = osp.dirname(out_file)
    if d:
        os.makedirs(d, exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def write_json(obj, out_file):
    """``obj`` as indented json at ``out_file`` (its folder made)."""
    d = osp.dirname(out_file)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(out_file, 'w') as f:
        json.dump(obj, f, indent=2)


def iou_calibration(named_results, annotations, class_names, out_dir, iou_thr=0.5, num_bins=10, iou_kind='best'):
    """The calibration report of each results list, written to ``out_dir``.

    Args:
        named_results: ``{label: results}``, one or more results lists of the same images
            (e.g. ``{'VFL': ..., 'FL': ...}``); plotted side by side in the given order.
        annotations: per image ``dict(bboxes, labels)``.
        class_names: the class names.
        out_dir: gets ``iou_calibration.json`` (``{label: report}``) and
            ``iou_calibration.png``.

    Returns:
        ``{label: report}`` (see :func:`calibration_report`).
    """
    reports = {}
    for label, results in named_results.items():
        matches = match_detections(results, annotations, iou_thr)
        reports[label] = calibration_report(matches, class_names, num_bins, iou_kind)
        reports[label]['match_iou'] = iou_thr
    write_json(reports, osp.join(out_dir, 'iou_calibration.json'))
    plot_reliability(list(reports.values()), list(reports), osp.join(out_dir, 'iou_calibration.png'),
                     title=f'score vs {iou_kind} IoU (match IoU >= {iou_thr})')
    return reports
