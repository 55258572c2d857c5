"""Score calibration, oracle AP, confusion matrix and score-threshold analyses, on a tiny
hand-made COCO set whose answers are known, and their CLIs as subprocesses."""
import importlib.util
import json
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest

from mmdet.core.evaluation.calibration import (box_iou, calibration_report, greedy_match, match_detections,
                                               rankdata, reliability, spearman)
from mmdet.core.evaluation.oracle import apply_oracle, oracle_ap, parse_oracle
from mmdet.core.evaluation.thresholds import best_threshold, confusion_matrix, pr_vs_threshold
from tests.conftest import ROOT, run_env

CLASSES = ('a', 'b', 'c')
A, B, C = 0, 1, 2
# (image, label, box): 4 images of 100 x 100
GTS = [
    [(A, [10, 10, 50, 50]), (B, [60, 60, 90, 90])],
    [(A, [0, 0, 40, 40]), (C, [50, 10, 90, 50])],
    [(B, [20, 20, 70, 70]), (C, [25, 20, 75, 70])],
    [(C, [10, 60, 40, 90]), (A, [50, 50, 95, 95])],
]


def _anns(gts=GTS):
    return [dict(bboxes=np.array([b for _, b in g], np.float32).reshape(-1, 4),
                 labels=np.array([lbl for lbl, _ in g], np.int64)) for g in gts]


def _results(per_image):
    """``[[(label, box, score), ...] per image]`` -> 2.x results."""
    out = []
    for dets in per_image:
        img = [np.zeros((0, 5), np.float32) for _ in CLASSES]
        for lbl, box, score in dets:
            img[lbl] = np.vstack([img[lbl], np.array([*box, score], np.float32)])
        out.append(img)
    return out


def _shifted(box, iou):
    """``box`` moved right so that its IoU with itself is ``iou``: (w - d) / (w + d) = iou."""
    x1, y1, x2, y2 = box
    d = (x2 - x1) * (1 - iou) / (1 + iou)
    return [x1 + d, y1, x2 + d, y2]


def _perfect():
    return _results([[(lbl, box, 1.0) for lbl, box in g] for g in GTS])


def _score_is_iou():
    """Two boxes per gt at different IoUs, each scored with its IoU."""
    ious = iter(np.linspace(0.35, 0.98, 2 * sum(len(g) for g in GTS)))
    dets = []
    for g in GTS:
        img = []
        for lbl, box in g:
            for _ in range(2):
                img.append((lbl, _shifted(box, next(ious)), 0.0))
        dets.append(img)
    res = _results(dets)
    anns = _anns()
    for r, ann in zip(res, anns):  # the exact best IoU as score (the shifted boxes may touch another gt)
        for c, d in enumerate(r):
            d[:, 4] = box_iou(d[:, :4], ann['bboxes'][ann['labels'] == c]).max(1) if len(d) else 0
    return res


def _anti():
    """Per gt: a poor box (IoU .55) scored .9 and a good one (IoU .9) scored .3."""
    return _results([[(lbl, _shifted(box, .55), .9) for lbl, box in g] + [(lbl, _shifted(box, .9), .3)
                                                                         for lbl, box in g] for g in GTS])


@pytest.fixture(scope='module')
def coco_config(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_coco')
    images = [dict(id=i + 1, file_name=f'{i}.jpg', width=100, height=100) for i in range(len(GTS))]
    anns = []
    for i, g in enumerate(GTS):
        for lbl, (x1, y1, x2, y2) in g:
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=lbl + 1, bbox=[x1, y1, x2 - x1, y2 - y1],
                             area=(x2 - x1) * (y2 - y1), iscrowd=0))
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]
    with open(root / 'ann.json', 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    cfg = root / 'tiny.py'
    cfg.write_text(f"data = dict(test=dict(type='CocoDataset', classes={CLASSES!r}, "
                   f"ann_file={str(root / 'ann.json')!r}, img_prefix={str(root)!r}, pipeline=[]))\n")
    for name, res in (('perfect', _perfect()), ('anti', _anti()), ('score_is_iou', _score_is_iou())):
        with open(root / f'{name}.pkl', 'wb') as f:
            pickle.dump(res, f)
    return str(cfg)


@pytest.fixture(scope='module')
def dataset(coco_config):
    from mmdet.apis import build_test_dataset
    from mmdet.utils import Config
    return build_test_dataset(Config.fromfile(coco_config))


# -- matching and statistics -------------------------------------------------------------------
def test_greedy_match_is_coco_like():
    # det 0 (score .5) and det 1 (score .9) both overlap gt 0 best; det 1 chooses first, det 0 then
    # takes gt 1 (still >= .5) instead of becoming a duplicate
    ious = np.array([[.8, .6], [.9, .1], [.4, .45]])
    np.testing.assert_array_equal(greedy_match(ious, np.array([.5, .9, .7]), .5), [1, 0, -1])
    np.testing.assert_array_equal(greedy_match(np.zeros((2, 0)), np.array([.1, .2]), .5), [-1, -1])


def test_match_detections_ious():
    m = match_detections(_anti(), _anns())
    assert len(m['score']) == 2 * sum(len(g) for g in GTS)
    poor, good = m['score'] > .5, m['score'] < .5
    np.testing.assert_allclose(m['best_iou'][poor], .55, atol=1e-4)
    np.testing.assert_allclose(m['best_iou'][good], .9, atol=1e-4)
    # the poor, high-scored box takes each gt; the good box is a duplicate: matched IoU 0
    assert (m['gt'][poor] >= 0).all() and (m['gt'][good] == -1).all()
    np.testing.assert_allclose(m['matched_iou'][good], 0)
    np.testing.assert_array_equal(m['num_gts'], [3, 2, 3])


def test_rankdata_and_spearman_against_scipy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 200).astype(float)  # many ties
    y = x + rng.normal(0, 2, 200)
    y[:50] = np.round(y[:50])
    np.testing.assert_allclose(rankdata([3, 1, 3, 2]), [3.5, 1, 3.5, 2])
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3])) and np.isnan(spearman([1], [2]))
    stats = pytest.importorskip('scipy.stats')
    np.testing.assert_allclose(rankdata(x), stats.rankdata(x))
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)


def test_reliability_bins_and_ece():
    rel = reliability([0.05, 0.15, 0.95, 1.0], [0.25, 0.15, 0.75, 0.8], num_bins=10)
    np.testing.assert_array_equal(rel['count'], [1, 1, 0, 0, 0, 0, 0, 0, 0, 2])
    assert np.isnan(rel['mean_iou'][2])
    assert rel['mean_score'][9] == pytest.approx(0.975) and rel['mean_iou'][9] == pytest.approx(.775)
    # (1 * .2 + 1 * 0 + 2 * .2) / 4
    assert rel['ece'] == pytest.approx(0.15)


def test_calibration_perfect_and_anti_correlated():
    rep = calibration_report(match_detections(_score_is_iou(), _anns()), CLASSES)
    assert rep['overall']['spearman'] == pytest.approx(1) and rep['overall']['ece'] == pytest.approx(0, abs=1e-6)
    assert all(c['spearman'] == pytest.approx(1) for c in rep['per_class'].values())
    assert sum(b['count'] for b in rep['overall']['bins']) == rep['num_dets'] == 16
    rep = calibration_report(match_detections(_anti(), _anns()), CLASSES)
    # two tied score groups, the higher one with all the lower IoUs: -(8 * .5) / sd(1..16) = -.868
    assert rep['overall']['spearman'] == pytest.approx(-8 * .5 / np.sqrt(255 / 12), abs=0.01)
    # half the detections at score .9 with IoU .55, half at .3 with IoU .9
    assert rep['overall']['ece'] == pytest.approx((.35 + .6) / 2, abs=1e-4)
    # matched IoU: the duplicates count 0
    rep = calibration_report(match_detections(_anti(), _anns()), CLASSES, iou_kind='matched')
    assert rep['overall']['spearman'] > .9
    with pytest.raises(ValueError, match='iou_kind'):
        calibration_report(match_detections(_anti(), _anns()), CLASSES, iou_kind='mean')


# -- oracles -----------------------------------------------------------------------------------
def test_apply_oracle_values():
    anns = _anns()
    res = apply_oracle(_anti(), anns, 'gt_iou')
    np.testing.assert_allclose(res[0][A][:, 4], [.55, .9], atol=1e-4)
    res = apply_oracle(_anti(), anns, 'gt_cls')
    np.testing.assert_allclose(res[0][A][:, 4], [1, .3])
    res = apply_oracle(_anti(), anns, 'gt_bbox')
    np.testing.assert_allclose(res[0][A][0, :4], GTS[0][0][1])
    np.testing.assert_allclose(res[0][A][:, 4], [.9, .3])
    res = apply_oracle(_anti(), anns, 'gt_bbox+gt_iou')  # the replaced box has IoU 1
    np.testing.assert_allclose(res[0][A][:, 4], [1, .9], atol=1e-4)
    res = apply_oracle(_anti(), anns, 'gt_cls+gt_iou')  # matched: 1 * .55, duplicate .3 * .9
    np.testing.assert_allclose(res[0][A][:, 4], [.55, .27], atol=1e-4)
    with pytest.raises(ValueError, match='gt_box'):
        parse_oracle('gt_box')


def test_oracle_ap(dataset):
    aps = oracle_ap(_perfect(), dataset, ('baseline', 'gt_iou'))
    assert aps['baseline']['bbox_mAP'] == 1.0 and aps['gt_iou']['bbox_mAP'] == 1.0
    aps = oracle_ap(_anti(), dataset, ('baseline', 'gt_iou', 'gt_cls', 'gt_bbox'))
    base = aps['baseline']['bbox_mAP']
    assert 0 < base < 1
    assert aps['gt_iou']['bbox_mAP'] > base
    assert aps['gt_cls']['bbox_mAP'] == base  # the matched boxes already rank first
    assert aps['gt_bbox']['bbox_mAP'] == 1.0  # each gt's top box becomes the gt, duplicates rank below


# -- confusion matrix and thresholds ---------------------------------------------------------------
CM_GTS = [GTS[0], GTS[1], GTS[2]]


def _cm_results():
    return _results([
        [(A, [10, 10, 50, 50], .9), (B, [10, 10, 50, 50], .8), (A, [0, 60, 20, 80], .7), (B, [60, 60, 90, 90], .2)],
        [(C, [50, 10, 90, 50], .95), (C, _shifted([50, 10, 90, 50], .8), .6)],
        [(A, [20, 20, 70, 70], .5)],  # overlaps the b and the c gt at IoU >= .5
    ])


def test_confusion_matrix_hand_computed():
    cm = confusion_matrix(_cm_results(), _anns(CM_GTS), 3, score_thr=.3, tp_iou_thr=.5)
    np.testing.assert_array_equal(cm, [[1, 1, 0, 1],
                                       [1, 0, 0, 2],
                                       [1, 0, 2, 1],
                                       [1, 0, 0, 0]])
    cm = confusion_matrix(_cm_results(), _anns(CM_GTS), 3, score_thr=.3, tp_iou_thr=.5, nms_iou_thr=.5)
    assert cm[C, C] == 1  # the duplicate c box is suppressed
    cm = confusion_matrix(_cm_results(), _anns(CM_GTS), 3, score_thr=.1)
    assert cm[B, B] == 1 and cm[B, 3] == 1  # the .2 b box now finds the b gt of image 0


def test_pr_vs_threshold_hand_computed():
    curves = pr_vs_threshold(match_detections(_cm_results(), _anns(CM_GTS)), CLASSES, [.3, .75])
    pc = curves['per_class']
    np.testing.assert_allclose(pc['a']['precision'], [1 / 3, 1])
    np.testing.assert_allclose(pc['a']['recall'], [.5, .5])
    np.testing.assert_allclose(pc['a']['f1'], [.4, 2 / 3])
    np.testing.assert_allclose(pc['b']['f1'], [0, 0])
    np.testing.assert_allclose(pc['c']['precision'], [.5, 1])
    np.testing.assert_allclose(pc['c']['f1'], [.5, 2 / 3])
    np.testing.assert_allclose(curves['overall']['precision'], [1 / 3, 2 / 3])
    np.testing.assert_allclose(curves['overall']['recall'], [1 / 3, 1 / 3])
    np.testing.assert_allclose(curves['overall']['f1'], [1 / 3, 4 / 9])
    assert pc['a']['best']['thr'] == pytest.approx(.9) and pc['a']['best']['f1'] == pytest.approx(2 / 3)
    assert pc['b']['best']['thr'] == pytest.approx(.2) and pc['b']['best']['f1'] == pytest.approx(.5)
    assert pc['c']['best']['thr'] == pytest.approx(.95)
    assert best_threshold(np.zeros(0), np.zeros(0, bool), 3)['thr'] is None


# -- the CLIs ------------------------------------------------------------------------------------
def _tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_clis_write_png_and_json(coco_config, tmp_path):
    """The four tools as subprocesses, started together (each spends most of its time importing)."""
    d = osp.dirname(coco_config)
    anti, calibrated, perfect = (osp.join(d, f'{n}.pkl') for n in ('anti', 'score_is_iou', 'perfect'))
    runs = [('iou_calibration', anti, '--compare', calibrated, '--labels', 'FL', 'VFL'),
            ('oracle_eval', anti, '--experiments', 'baseline', 'gt_iou', 'gt_cls+gt_iou'),
            ('confusion_matrix', perfect, '--score-thr', '0.5'),
            ('score_thresholds', perfect, '--steps', '11')]
    procs = [subprocess.Popen([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools', f'{tool}.py'), coco_config,
                               pkl, str(tmp_path), *rest], env=run_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tool, pkl, *rest in runs]
    outs = {}
    for (tool, *_), proc in zip(runs, procs):
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f'{tool}: {err[-3000:]}'
        outs[tool] = out
    assert 'Spearman' in outs['iou_calibration'] and 'best F1' in outs['score_thresholds']
    rep = json.load(open(tmp_path / 'iou_calibration.json'))
    assert list(rep) == ['FL', 'VFL']
    assert rep['FL']['overall']['spearman'] < -.8 and rep['VFL']['overall']['spearman'] == pytest.approx(1)
    exp = json.load(open(tmp_path / 'oracle.json'))['experiments']
    assert list(exp) == ['baseline', 'gt_iou', 'gt_cls+gt_iou']
    assert exp['gt_iou']['bbox_mAP'] > exp['baseline']['bbox_mAP']
    cm = np.array(json.load(open(tmp_path / 'confusion_matrix.json'))['matrix'])
    # perfect detections: every gt found; the b and c gts of image 2 overlap at IoU .82, so their boxes
    # count for each other too (2.x counts a detection once for every gt it overlaps)
    np.testing.assert_array_equal(cm, [[3, 0, 0, 0], [0, 2, 1, 0], [0, 1, 3, 0], [0, 0, 0, 0]])
    st = json.load(open(tmp_path / 'score_thresholds.json'))
    assert len(st['thresholds']) == 11 and st['overall']['best'] == dict(thr=1.0, precision=1.0, recall=1.0, f1=1.0)
    for name in ('iou_calibration', 'oracle', 'confusion_matrix', 'score_thresholds'):
        png = tmp_path / f'{name}.png'
        assert png.stat().st_size > 1000 and open(png, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'


def test_cli_errors(coco_config, tmp_path, capsys):
    bad = tmp_path / 'short.pkl'
    with open(bad, 'wb') as f:
        pickle.dump(_perfect()[:2], f)
    with pytest.raises(SystemExit) as e:  # a user error: one line naming the file, no traceback
        _tool('oracle_eval').main([coco_config, str(bad), str(tmp_path)])
    assert e.value.code == 1
    assert 'short.pkl holds 2 results but the test set has 4' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _tool('oracle_eval').parse_args([coco_config, str(bad), str(tmp_path), '--experiments', 'gt_box'])
    with pytest.raises(SystemExit):
        _tool('iou_calibration').parse_args([coco_config, str(bad), str(tmp_path), '--labels', 'a', 'b'])
