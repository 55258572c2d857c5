"""Result analysis: per-image mAP ranking and the COCO error breakdown."""
import contextlib
import copy
import io
import os
import os.path as osp

import numpy as np
from tqdm import tqdm

from .mean_ap import eval_map

ERROR_TYPES = ['C75', 'C50', 'Loc', 'Sim', 'Oth', 'BG', 'FN']


def per_image_map(results, annotations, iou_thrs=np.linspace(.5, .95, 10), show_progress=True):
    """mAP of every image on its own, averaged over ``iou_thrs`` (COCO-style),
    from 2.x results and per-image annotations (``bboxes``, ``labels``)."""
    scores = []
    for res, ann in tqdm(list(zip(results, annotations)), desc='per-image mAP', unit='img',
                         disable=not show_progress, leave=False, dynamic_ncols=True):
        scores.append(float(np.mean([eval_map([res], [ann], float(t), print_table=False)[0] for t in iou_thrs])))
    return np.array(scores)


def _coco_precision(coco_gt, coco_dt, img_ids, iou_thrs, areas=None):
    """pycocotools' accumulated precision (T, R, K, A, 1) at maxDets 100."""
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco_gt, coco_dt, 'bbox')
        ev.params.imgIds = img_ids
        ev.params.iouThrs = np.array(iou_thrs)
        ev.params.maxDets = [100]
        if areas:
            ev.params.areaRng = [[0 ** 2, areas[2]], [0 ** 2, areas[0]], [areas[0], areas[1]], [areas[1], areas[2]]]
        ev.evaluate()
        ev.accumulate()
    return ev.eval['precision'], ev.params.recThrs


def _relabelled(coco_gt, cat_id, which):
    """A copy of the ground truth where the gts of ``which`` categories count as ``cat_id``."""
    from pycocotools.coco import COCO
    data = copy.deepcopy(coco_gt.dataset)
    for ann in data['annotations']:
        if ann['category_id'] in which:
            ann['category_id'] = cat_id
    gt = COCO()
    gt.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


def coco_error_analysis(coco_gt, dets_json, out_dir, areas=None, show_progress=True):
    """Hoiem-style error breakdown of box detections, per category and overall,
    as precision-recall area plots (``<name>-bbox.png`` for each area range).

    Layers, each a relaxation of the previous: C75 and C50 (PR at IoU .75/.5),
    Loc (IoU .1: localisation errors forgiven), Sim (confusion with a class of
    the same supercategory forgiven), Oth (any class confusion forgiven), BG
    (background false positives removed: precision 1 wherever a detection
    could still reach) and FN (every remaining miss: precision 1).
    Returns ``{category name: [AP of each layer, area 'all']}``."""
    from pycocotools.coco import COCO
    os.makedirs(out_dir, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(dets_json)
    img_ids = coco_gt.getImgIds()
    ps, rec_thrs = _coco_precision(coco_gt, coco_dt, img_ids, [.75, .5, .1], areas)
    ps = np.concatenate([ps, np.zeros((4, *ps.shape[1:]))])  # (7, R, K, A, 1)
    cat_ids = coco_gt.getCatIds()
    summary = {}
    for k, cat_id in enumerate(tqdm(cat_ids, desc='error analysis', unit='class', disable=not show_progress,
                                    leave=False, dynamic_ncols=True)):
        cat = coco_gt.loadCats(cat_id)[0]
        own = copy.deepcopy(coco_dt.dataset)
        own['annotations'] = [a for a in own['annotations'] if a['category_id'] == cat_id]
        dt = COCO()
        dt.dataset = own
        with contextlib.redirect_stdout(io.StringIO()):
            dt.createIndex()
        siblings = set(coco_gt.getCatIds(supNms=[cat.get('supercategory', '')])) if cat.get('supercategory') \
            else {cat_id}
        ps[3, :, k] = _coco_precision(_relabelled(coco_gt, cat_id, siblings), dt, img_ids, [.1], areas)[0][0, :, k]
        ps[4, :, k] = _coco_precision(_relabelled(coco_gt, cat_id, set(cat_ids)), dt, img_ids, [.1],
                                      areas)[0][0, :, k]
        ps[ps == -1] = 0
        ps[5, :, k] = ps[4, :, k] > 0
        ps[6, :, k] = 1.0
        summary[cat['name']] = _plot_pr(rec_thrs, ps[:, :, k], out_dir, cat['name'])
    summary['allclass'] = _plot_pr(rec_thrs, ps, out_dir, 'allclass')
    return summary


def _plot_pr(rec_thrs, ps, out_dir, name):
    """One PNG per area range: the stacked precision-recall areas of the 7 layers."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    colors = [[.8, .8, .8], [.6, .6, .6], [.31, .51, .74], [.75, .31, .30], [.36, .90, .38], [.50, .39, .64],
              [1, .6, 0]]
    area_names = ['allarea', 'small', 'medium', 'large']
    aps_all = None
    for a, area in enumerate(area_names):
        curves = ps[:, :, :, a, 0] if ps.ndim == 5 else ps[:, :, a, 0]
        if curves.ndim == 3:  # (7, R, K): mean over classes
            curves = curves.mean(axis=2)
        aps = [float(c.mean()) for c in curves]
        if a == 0:
            aps_all = aps
        fig = plt.figure(figsize=(6, 4.5))
        ax = fig.gca()
        for i, (curve, label) in enumerate(zip(curves, ERROR_TYPES)):
            lower = curves[i - 1] if i > 0 else np.zeros_like(curve)  # each band on top of the previous
            ax.plot(rec_thrs, curve, color='k', linewidth=0.5)
            ax.fill_between(rec_thrs, lower, curve, color=colors[i], label=f'[{aps[i]:.3f}] {label}')
        ax.set_xlabel('recall')
        ax.set_ylabel('precision')
        ax.set_xlim(0, 1.)
        ax.set_ylim(0, 1.)
        ax.set_title(f'{name}-{area}')
        ax.legend(loc='lower left', fontsize=8)
        fig.savefig(osp.join(out_dir, f'{name}-{area}-bbox.png'))
        plt.close(fig)
    return aps_all
