"""COCO box evaluation with pycocotools, printed as the 2.x tables."""
import contextlib
import gc
import io
import itertools

import numpy as np
from terminaltables import AsciiTable

from mmdet.utils import print_log

METRIC_NAMES = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l']


def results_to_coco_json(results, img_ids, cat_ids):
    """2.x results (per image, per class (k, 5) xyxy+score) -> COCO detection dicts
    (widths and heights computed in the results' own precision, as 2.x)."""
    cat_ids = np.asarray(cat_ids, dtype=np.float64)
    rows = []
    for img_id, per_class in zip(img_ids, results):
        blocks = [np.asarray(d).reshape(-1, 5) for d in per_class]
        counts = [len(b) for b in blocks]
        if not sum(counts):
            continue
        dets = np.concatenate(blocks)
        rows.append(np.column_stack([np.full(len(dets), img_id, np.float64), np.repeat(cat_ids[:len(blocks)], counts),
                                     dets[:, :2], dets[:, 2:4] - dets[:, :2], dets[:, 4]]))
    if not rows:
        return []
    with _gc_paused():  # millions of small objects: the cyclic GC would rescan them again and again
        return [dict(image_id=int(i), category_id=int(c), bbox=[x, y, w, h], score=sc)
                for i, c, x, y, w, h, sc in np.concatenate(rows).tolist()]


@contextlib.contextmanager
def _gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def coco_backend(name=None):
    """``faster-coco-eval`` when installed (8-10x faster accumulation, the same
    numbers), else ``pycocotools``; ``name`` forces one."""
    if name in (None, 'auto'):
        try:
            import faster_coco_eval  # noqa: F401
            return 'faster-coco-eval'
        except ImportError:
            return 'pycocotools'
    if name not in ('faster-coco-eval', 'pycocotools'):
        raise ValueError(f"COCO evaluation backend must be 'faster-coco-eval' or 'pycocotools', got '{name}'")
    if name == 'faster-coco-eval':
        try:
            import faster_coco_eval  # noqa: F401,F811
        except ImportError as e:
            raise ImportError('backend faster-coco-eval: pip install faster-coco-eval') from e
    return name


def _cocoeval(backend, coco_gt, dets_json):
    with contextlib.redirect_stdout(io.StringIO()):
        if backend == 'faster-coco-eval':
            from faster_coco_eval import COCO, COCOeval_faster
            gt = COCO(coco_gt.dataset)
            return COCOeval_faster(gt, gt.loadRes(dets_json), 'bbox', print_function=lambda *a, **k: None)
        from pycocotools.cocoeval import COCOeval
        return COCOeval(coco_gt, coco_gt.loadRes(dets_json), 'bbox')


def summarize_coco(accumulated, params):
    """The 12 COCO numbers and their printed lines from the accumulated
    ``precision`` (T, R, K, A, M) and ``recall`` (T, K, A, M) arrays, computed as
    pycocotools' ``summarize`` does, whichever backend accumulated them."""
    md = params.maxDets
    spec = [(1, None, 'all', 100), (1, .5, 'all', md[2]), (1, .75, 'all', md[2]), (1, None, 'small', md[2]),
            (1, None, 'medium', md[2]), (1, None, 'large', md[2]), (0, None, 'all', md[0]), (0, None, 'all', md[1]),
            (0, None, 'all', md[2]), (0, None, 'small', md[2]), (0, None, 'medium', md[2]), (0, None, 'large', md[2])]
    stats, lines = [], []
    for ap, iou, area, max_dets in spec:
        a = [i for i, lbl in enumerate(params.areaRngLbl) if lbl == area]
        m = [i for i, d in enumerate(params.maxDets) if d == max_dets]
        s = accumulated['precision'] if ap else accumulated['recall']
        if iou is not None:
            s = s[np.where(iou == params.iouThrs)[0]]
        s = s[..., a, :][..., m] if s.size else s
        value = float(np.mean(s[s > -1])) if s.size and (s > -1).any() else -1.0
        stats.append(value)
        iou_str = f'{params.iouThrs[0]:0.2f}:{params.iouThrs[-1]:0.2f}' if iou is None else f'{iou:0.2f}'
        title, kind = ('Average Precision', '(AP)') if ap else ('Average Recall', '(AR)')
        lines.append(f' {title:<18} {kind} @[ IoU={iou_str:<9} | area={area:>6s} | maxDets={max_dets:>3d} ] = '
                     f'{value:0.3f}')
    return np.array(stats), '\n'.join(lines)


def coco_bbox_eval(coco_gt, dets_json, img_ids, cat_ids, class_names, classwise=False,
                   proposal_nums=(100, 300, 1000), iou_thrs=None, logger=None, backend=None):
    """Run COCO evaluation on box detections; returns ``{'bbox_mAP': ..., 'bbox_mAP_copypaste': ...}``.

    ``backend``: 'faster-coco-eval', 'pycocotools' or None (the first installed)."""
    eval_results = {}
    if not dets_json:
        print_log('The testing results of the whole dataset are empty: all box metrics are 0.', logger=logger)
        for m in METRIC_NAMES:
            eval_results[f'bbox_{m}'] = 0.0
        eval_results['bbox_mAP_copypaste'] = ' '.join(['0.000'] * 6)
        return eval_results
    backend = coco_backend(backend)
    with _gc_paused():
        coco_eval = _cocoeval(backend, coco_gt, dets_json)
    coco_eval.params.catIds = list(cat_ids)
    coco_eval.params.imgIds = list(img_ids)
    coco_eval.params.maxDets = list(proposal_nums)
    if iou_thrs is not None:
        coco_eval.params.iouThrs = np.asarray(iou_thrs)
    with contextlib.redirect_stdout(io.StringIO()), _gc_paused():
        coco_eval.evaluate()
        coco_eval.accumulate()
    stats, text = summarize_coco(coco_eval.eval, coco_eval.params)
    coco_eval.stats = stats
    print_log(f'\nEvaluating bbox ({backend})...\n' + text, logger=logger)
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
        columns = [flat[i::n_cols] for i in range(n_cols)]
        table = AsciiTable([header] + [list(r) for r in itertools.zip_longest(*columns)])
        print_log('\n' + table.table, logger=logger)
    for i, m in enumerate(METRIC_NAMES):
        eval_results[f'bbox_{m}'] = float(f'{coco_eval.stats[i]:.3f}')
    eval_results['bbox_mAP_copypaste'] = ' '.join(f'{coco_eval.stats[i]:.3f}' for i in range(6))
    return eval_results
