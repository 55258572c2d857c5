"""faster-coco-eval and pycocotools give the same COCO numbers."""
import json

import pytest

from mmdet.datasets import CocoDataset
from mmdet.datasets.synthetic import synthetic_detection_set


@pytest.fixture(scope='module')
def eval_set(tmp_path_factory):
    gt, results = synthetic_detection_set(num_images=40, num_classes=6, dets_per_image=150, seed=1)
    path = tmp_path_factory.mktemp('eval') / 'gt.json'
    path.write_text(json.dumps(gt))
    dataset = CocoDataset(str(path), pipeline=[], test_mode=True, classes=tuple(c['name'] for c in gt['categories']))
    return dataset, results


def test_backends_agree_with_more_than_100_detections_per_image(eval_set, capsys):
    pytest.importorskip('faster_coco_eval')
    dataset, results = eval_set
    assert min(sum(len(d) for d in r) for r in results) > 100
    slow = dataset.evaluate(results, classwise=True, backend='pycocotools')
    slow_out = capsys.readouterr().out
    fast = dataset.evaluate(results, classwise=True, backend='faster-coco-eval')
    fast_out = capsys.readouterr().out
    assert slow == fast
    assert 0.05 < slow['bbox_mAP'] < 0.95
    # the printed tables (12 lines and the per-class table) are the same, only the backend name differs
    assert slow_out.replace('pycocotools', 'X') == fast_out.replace('faster-coco-eval', 'X')
    assert '(faster-coco-eval)' in fast_out and 'class_5' in fast_out


def test_summary_equals_pycocotools_own(eval_set):
    """Our 12 numbers, computed from the accumulated arrays, are pycocotools' own."""
    import contextlib
    import io

    import numpy as np
    from pycocotools.cocoeval import COCOeval

    from mmdet.core import results_to_coco_json
    from mmdet.core.evaluation.coco_metric import summarize_coco
    dataset, results = eval_set
    dets = results_to_coco_json(results, dataset.img_ids, dataset.cat_ids)
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        ev = COCOeval(dataset.coco, dataset.coco.loadRes(dets), 'bbox')
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats, text = summarize_coco(ev.eval, ev.params)
    assert np.array_equal(stats, ev.stats)
    assert text.split('\n') == [line for line in buf.getvalue().split('\n') if line.startswith(' Average')]


def test_unknown_backend_is_named(eval_set):
    dataset, results = eval_set
    with pytest.raises(ValueError, match='backend'):
        dataset.evaluate(results, backend='fast')
