"""PAA (``configs/paa``): the original's config files build models with the
layout of the original checkpoints; the probabilistic anchor assignment (MaxIoU
candidates, per-level top-k, GMM split), the loss and score voting follow
MMDetection 2.10's PAAHead, checked by hand and against transcriptions of it;
the detector trains and evaluates through tools/train.py and tools/test.py.
"""
import glob
import json
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import mmdet.models.detectors.paa  # noqa: F401  (registers PAA)
from mmdet.core import bbox_overlaps, build_assigner
from mmdet.models import build_detector, build_head
from mmdet.models.dense_heads import paa_head
from mmdet.models.dense_heads.paa_head import (gmm_positives, gmm_separation_scheme, max_iou_candidates,
                                               paa_reassign, score_voting)
from mmdet.utils import Config
from tests.conftest import run_env

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_paa.json')))
CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs')) for p in glob.glob(osp.join(ROOT, 'configs', 'paa', '*.py')))
MAIN = 'paa/paa_r50_fpn_1x_coco.py'
TRAIN_CFG = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.1, neg_iou_thr=0.1, min_pos_iou=0,
                               ignore_iof_thr=-1), allowed_border=-1, pos_weight=-1, debug=False)
TEST_CFG = dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6),
                max_per_img=100)


def load(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    cfg.model.pretrained = None
    return cfg


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _metas(h, w, n=1):
    return [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32),
                 flip=False, flip_direction=None) for _ in range(n)]


def _tiny_head(**kw):
    cfg = dict(type='PAAHead', num_classes=4, in_channels=8, feat_channels=8, stacked_convs=1,
               norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
               anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8, scales_per_octave=1,
                                     strides=[8, 16, 32]), topk=4, train_cfg=TRAIN_CFG, test_cfg=TEST_CFG)
    cfg.update(kw)
    return build_head(cfg)


# ----------------------------------------------------------------- configs, layouts
def test_every_original_config_file_is_shipped():
    assert CONFIGS == sorted(LAYOUTS) and len(CONFIGS) == 7
    assert osp.isfile(osp.join(ROOT, 'configs', 'paa', 'README.md'))


@pytest.mark.parametrize('name', CONFIGS)
def test_layout_is_the_original_checkpoints(name):
    cfg = load(name)
    assert cfg.model.bbox_head.type == 'PAAHead' and cfg.model.bbox_head.topk == 9
    sd = build_detector(cfg.model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]


def test_training_step_and_inference():
    """The one distinct model of the folder (the others change depth, schedule or pipeline)."""
    torch.manual_seed(0)
    model = build_detector(load(MAIN).model)
    model.train()
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, 64, 64, generator=g)
    metas = _metas(64, 64, 2)
    gt_bboxes = [torch.tensor([[10., 12., 50., 60.], [30., 5., 62., 40.]]), torch.tensor([[4., 8., 40., 30.]])]
    gt_labels = [torch.tensor([1, 79]), torch.tensor([5])]
    losses = model(img=img, img_metas=metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels)
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_iou'}
    assert all(torch.isfinite(v) for v in losses.values()) and losses["loss_bbox"].item() > 0
    sum(losses.values()).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    assert model.bbox_head.atss_centerness.weight.grad.abs().sum() > 0  # the IoU branch learns
    model.eval()
    with torch.no_grad():
        results = model.simple_test(img, metas, rescale=True)
    assert len(results) == 2 and all(len(r) == 80 for r in results)
    assert sum(len(d) for d in results[0]) > 0


def test_bad_arguments_name_the_key():
    with pytest.raises(ValueError, match='covariance_type'):
        _tiny_head(covariance_type='diagonal')
    with pytest.raises(ValueError, match='reg_decoded_bbox'):
        _tiny_head(reg_decoded_bbox=False)
    with pytest.raises(ValueError, match='topk'):
        _tiny_head(topk=0)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'sklearn.mixture', None)  # import fails
    with pytest.raises(ImportError, match=r'pip install scikit-learn.*\.\[optional\]'):
        gmm_positives(torch.tensor([0.1, 0.2, 0.9]))


# ----------------------------------------------------------------- targets, by hand
def test_max_iou_candidates_by_hand():
    anchors = torch.tensor([[0., 0., 10., 10.],    # IoU 1 with gt 0
                            [5., 5., 15., 15.],    # 25 / 175 = 0.14 with gt 0: a candidate
                            [20., 20., 30., 30.],  # 100 / 144 = 0.69 with gt 1
                            [0., 0., 4., 4.],      # 16 / 100 = 0.16 with gt 0
                            [40., 40., 50., 50.],  # overlaps nothing: negative
                            [0., 0., 10., 10.]])   # outside the padded image (invalid): no weight
    valid = torch.tensor([True, True, True, True, True, False])
    gts, gt_labels = torch.tensor([[0., 0., 10., 10.], [18., 18., 30., 30.]]), torch.tensor([2, 0])
    assigner = build_assigner(TRAIN_CFG['assigner'])
    labels, weights, gt_boxes, gt_index = max_iou_candidates(anchors, valid, gts, gt_labels, _metas(64, 64)[0],
                                                             assigner, num_classes=3)
    assert gt_index.tolist() == [0, 0, 1, 0, -1, -1]
    assert labels.tolist() == [2, 2, 0, 2, 3, 3]
    assert weights.tolist() == [1, 1, 1, 1, 1, 0]
    assert torch.equal(gt_boxes[[0, 1, 3]], gts[[0, 0, 0]]) and torch.equal(gt_boxes[2], gts[1])
    assert not gt_boxes[4:].any()


def test_gmm_split_of_a_fixed_score_set():
    """Two clear groups: the GMM's low component {0.10 .. 0.20} (mean 0.1425)
    has its highest density at 0.15, the nearest to its mean; the positives are
    that component up to 0.15, so 0.20 (low component too) is not one."""
    scores = torch.tensor([0.10, 0.12, 0.15, 0.20, 1.50, 1.60, 1.80, 2.00])
    for cov in ('full', 'tied', 'diag', 'spherical'):
        assert gmm_positives(scores, cov).tolist() == [True] * 3 + [False] * 5, cov
    # low component {0.1 .. 0.55} (mean 0.356), the outlier 3.0 the other: up to 0.5
    assert gmm_positives(torch.tensor([0.1, 0.11, 0.5, 0.52, 0.55, 3.0])).tolist() == [True] * 3 + [False] * 3
    # a one-sample component whose float32 'diag' fit fails in the original (mmdetection#4152)
    assert gmm_positives(torch.tensor([1.0828532, 1.0893354, 1.1431383, 1.182589, 6.9104705])).tolist() == \
        [True] * 3 + [False] * 2
    assert gmm_positives(torch.tensor([0.3, 0.9])).tolist() == [True, False]


def test_gmm_separation_scheme_by_hand():
    """Component 0 up to its highest-density member, whatever follows."""
    assignment = torch.tensor([0, 0, 1, 0, 0, 1])
    density = torch.tensor([-1., 0., 5., 2., -3., 9.])  # the best of component 0: index 3
    assert gmm_separation_scheme(assignment, density).tolist() == [True, True, False, True, False, False]
    assert not gmm_separation_scheme(torch.tensor([1, 1]), torch.tensor([0., 1.])).any()


def test_paa_reassign_by_hand():
    """gt 0: on level 0 the top-3 of five (0.10, 0.12, 0.15; 5.0 and 2.0 drop), on
    level 1 all three; the GMM on {0.10, 0.12, 0.15, 0.20, 1.5, 1.6} keeps 0.10,
    0.12, 0.15.  gt 1 has one candidate (no GMM, no positive); gt 2 two."""
    scores = torch.tensor([0.1, 5.0, 0.12, 0.15, 2.0, 1.5, 1.6, 0.2, 0.7, 0.4, 0.9])
    gt_ids = torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2])
    levels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1])
    pos = paa_reassign(scores, gt_ids, levels, topk=3)
    assert pos.nonzero().view(-1).tolist() == [0, 2, 3, 9]
    assert not paa_reassign(scores[:0], gt_ids[:0], levels[:0], topk=3).numel()


def _orig_paa_reassign(scores, gt_ids, levels, topk):
    """2.10's PAAHead.paa_reassign loop (per gt, per level top-k, sort, GMM), transcribed."""
    from sklearn.mixture import GaussianMixture
    positive = []
    for g in gt_ids.unique().tolist():
        inds, losses = [], []
        for lv in range(int(levels.max()) + 1):
            m = ((gt_ids == g) & (levels == lv)).nonzero().view(-1)
            v, t = scores[m].topk(min(len(m), topk), largest=False)
            inds.append(m[t])
            losses.append(v)
        inds, losses = torch.cat(inds), torch.cat(losses)
        if len(inds) < 2:
            continue
        losses, order = losses.sort()
        inds = inds[order]
        x = losses.view(-1, 1).double().numpy()
        gmm = GaussianMixture(2, weights_init=np.array([0.5, 0.5]),
                              means_init=np.array([x.min(), x.max()]).reshape(2, 1),
                              precisions_init=np.array([1.0, 1.0]).reshape(2, 1), covariance_type='diag')
        gmm.fit(x)
        fgs = torch.from_numpy(gmm.predict(x)) == 0
        if fgs.any():
            _, thr = torch.from_numpy(gmm.score_samples(x))[fgs].topk(1)
            positive.append(inds[fgs][:thr + 1])
    out = torch.zeros(len(scores), dtype=torch.bool)
    if positive:
        out[torch.cat(positive)] = True
    return out


def test_paa_reassign_matches_the_original_loop():
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        n = 60
        gt_ids, levels = torch.randint(0, 5, (n,), generator=g), torch.randint(0, 3, (n,), generator=g)
        scores = torch.rand(n, generator=g) * 2 + (torch.rand(n, generator=g) > 0.6) * 3  # two groups
        assert torch.equal(paa_reassign(scores, gt_ids, levels, topk=4), _orig_paa_reassign(scores, gt_ids, levels, 4))


def test_loss_candidates_become_background_unless_the_gmm_keeps_them(monkeypatch):
    """In the loss, the first-step candidates that PAA drops are trained as
    background, the kept ones at their gt class; the number of positives
    averages the classification loss."""
    torch.manual_seed(0)
    head = _tiny_head()
    sizes = [(12, 14), (6, 7), (3, 4)]
    g = torch.Generator().manual_seed(1)
    outs = ([torch.randn(1, 4, h, w, generator=g) * 2 for h, w in sizes],
            [torch.randn(1, 4, h, w, generator=g) for h, w in sizes],
            [torch.randn(1, 1, h, w, generator=g) for h, w in sizes])
    gts, gt_labels, metas = [torch.tensor([[10., 12., 50., 60.], [30., 5., 100., 80.]])], [torch.tensor([0, 3])], \
        _metas(96, 112)
    seen = {}
    real = paa_head.paa_reassign

    def spy(scores, gt_ids, levels, topk, cov):
        seen['keep'] = real(scores, gt_ids, levels, topk, cov)
        seen['n'] = len(scores)
        return seen['keep']

    monkeypatch.setattr(paa_head, 'paa_reassign', spy)
    losses = head.loss(*outs, gts, gt_labels, metas)
    num_pos = int(seen['keep'].sum())
    assert 0 < num_pos < seen['n']
    # the classification loss recomputed from the final labels
    anchors = torch.cat(head.anchor_generator.grid_anchors([s for s in sizes], 'cpu'))
    assigner = build_assigner(TRAIN_CFG['assigner'])
    labels, weights, _, gt_index = max_iou_candidates(anchors, torch.ones(len(anchors), dtype=torch.bool), gts[0],
                                                      gt_labels[0], metas[0], assigner, 4)
    cand = (gt_index >= 0).nonzero().view(-1)
    assert len(cand) == seen['n']
    labels[cand[~seen['keep']]] = 4
    cls = torch.cat([c[0].permute(1, 2, 0).reshape(-1, 4) for c in outs[0]])
    assert torch.allclose(losses['loss_cls'], head.loss_cls(cls, labels, weights, avg_factor=num_pos))


# ----------------------------------------------------------------- score voting
def test_score_voting_by_hand():
    """A class-0 detection [0, 0, 10, 10] (0.9) and candidates: itself, a box
    shifted by 1 px (IoU 90/110, score 0.5), a class-1 box on top (ignored) and
    a far box (IoU 0, ignored).  Weights: 0.9 * exp(0) and 0.5 * exp(-(2/11)^2
    / 0.025); the score stays 0.9."""
    dets, labels = torch.tensor([[0., 0., 10., 10., 0.9]]), torch.tensor([0])
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 0., 11., 10.], [0., 0., 12., 12.], [50., 50., 60., 60.]])
    scores = torch.tensor([[0.9, 0.0], [0.5, 0.0], [0.0, 0.8], [0.7, 0.0]])
    voted, vlabels = score_voting(dets, labels, boxes, scores, score_thr=0.05)
    w2 = 0.5 * np.exp(-(2 / 11) ** 2 / 0.025)
    shift = float(w2 / (0.9 + w2))  # 0.1290
    assert torch.allclose(voted, torch.tensor([[shift, 0., 10 + shift, 10., 0.9]]), atol=1e-5)
    assert vlabels.tolist() == [0]


def _orig_score_voting(det_bboxes, det_labels, mlvl_bboxes, mlvl_nms_scores, score_thr, num_classes):
    """2.10's PAAHead.score_voting (per class, per detection), transcribed."""
    cand = (mlvl_nms_scores > score_thr).nonzero()
    c_boxes, c_labels, c_scores = mlvl_bboxes[cand[:, 0]], cand[:, 1], mlvl_nms_scores[mlvl_nms_scores > score_thr]
    out_boxes, out_labels = [], []
    for cls in range(num_classes):
        m = c_labels == cls
        if not m.any():
            continue
        dets = det_bboxes[det_labels == cls].view(-1, 5)
        ious = bbox_overlaps(dets[:, :4], c_boxes[m])
        for k in range(len(dets)):
            keep = ious[k] > 0.01
            pis = (torch.exp(-(1 - ious[k][keep]) ** 2 / 0.025) * c_scores[m][keep])[:, None]
            out_boxes.append(torch.cat([(pis * c_boxes[m][keep]).sum(0) / pis.sum(0), dets[k, 4:]]))
            out_labels.append(cls)
    return torch.stack(out_boxes), torch.tensor(out_labels)


def test_score_voting_matches_the_original_on_a_decoded_image():
    torch.manual_seed(0)
    head = _tiny_head()
    g = torch.Generator().manual_seed(2)
    sizes = [(12, 14), (6, 7), (3, 4)]
    outs = ([torch.randn(1, 4, h, w, generator=g) for h, w in sizes],
            [torch.randn(1, 4, h, w, generator=g) for h, w in sizes],
            [torch.randn(1, 1, h, w, generator=g) for h, w in sizes])
    metas = _metas(96, 112)
    boxes, scores = head.get_bboxes(*outs, metas, with_nms=False)[0]
    assert scores.shape[1] == 5 and not scores[:, -1].any()
    head.with_score_voting = False
    plain, plain_labels = head.get_bboxes(*outs, metas)[0]
    head.with_score_voting = True
    dets, labels = head.get_bboxes(*outs, metas)[0]
    assert len(dets) > 10 and len(set(labels.tolist())) > 1
    ref, ref_labels = _orig_score_voting(plain, plain_labels, boxes, scores, 0.05, 4)
    assert torch.equal(labels, ref_labels) and torch.allclose(dets, ref, atol=1e-4)
    assert not torch.allclose(dets[:, :4], plain[torch.argsort(plain_labels, stable=True), :4])
    # NMS ranks by sqrt(cls * IoU)
    cls = torch.cat([c[0].permute(1, 2, 0).reshape(-1, 4) for c in outs[0]]).sigmoid()
    iou = torch.cat([c[0].permute(1, 2, 0).reshape(-1) for c in outs[2]]).sigmoid()
    assert torch.allclose(scores[:, :4], (cls * iou[:, None]).sqrt())


# ----------------------------------------------------------------- training
def _tiny_model():
    cfg = load(MAIN)
    cfg.model.backbone.update(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False)
    cfg.model.neck.update(in_channels=[16, 32, 64, 128], out_channels=16)
    cfg.model.bbox_head.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                               norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    return build_detector(cfg.model)


def test_loss_falls_when_overfitting_one_image():
    torch.manual_seed(0)
    model = _tiny_model()
    model.train()
    img = torch.zeros(1, 3, 64, 64)
    img[:, :, 8:40, 12:44] = 2.0
    img[:, 0, 36:60, 30:62] = -2.0
    gt_bboxes = [torch.tensor([[12., 8., 44., 40.], [30., 36., 62., 60.]])]
    batch = dict(img=img, img_metas=_metas(64, 64), gt_bboxes=gt_bboxes, gt_labels=[torch.tensor([0, 2])])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    totals = []
    for _ in range(30):
        losses = model(**batch)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    assert np.isfinite(totals).all()
    assert np.mean(totals[-5:]) < 0.6 * np.mean(totals[:3]), totals


def test_aug_test_merges_flipped_views():
    torch.manual_seed(0)
    model = _tiny_model().eval()
    img = torch.randn(1, 3, 64, 64)
    metas = _metas(64, 64)
    flipped = [dict(metas[0], flip=True, flip_direction='horizontal')]
    with torch.no_grad():
        results = model.aug_test([img, img.flip(-1)], [metas, flipped], rescale=True)
    assert len(results) == 1 and len(results[0]) == 3


# ----------------------------------------------------------------- tools
def _py(script, *args):
    out = subprocess.run([sys.executable, osp.join(ROOT, script), *map(str, args)], cwd=ROOT, env=run_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f'{script} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}'
    return out.stdout + out.stderr


def test_train_and_test_tools_on_shapes(tmp_path, shapes_data):
    base = osp.join(ROOT, 'configs', MAIN)
    cfg = tmp_path / 'paa_r18_shapes.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {base!r}
        custom_imports = dict(imports=['mmdet.models.dense_heads.paa_head', 'mmdet.models.detectors.paa'])
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, frozen_stages=-1, norm_eval=False),
            neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
            bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1,
                           norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
            test_cfg=dict(score_thr=0.0001))
        img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(160, 128), keep_ratio=True),
            dict(type='RandomFlip', flip_ratio=0.5),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
        ]
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(160, 128), flip=False,
                 transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                             dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                             dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img'])])
        ]
        data_root = {shapes_data + '/'!r}
        data = dict(
            samples_per_gpu=2, workers_per_gpu=0,
            train=dict(classes=classes, ann_file=data_root + 'annotations/instances_train.json',
                       img_prefix=data_root + 'train/', pipeline=train_pipeline),
            val=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                     img_prefix=data_root + 'val/', pipeline=test_pipeline),
            test=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                      img_prefix=data_root + 'val/', pipeline=test_pipeline))
        optimizer = dict(lr=0.005)
        lr_config = dict(warmup_iters=2)
        runner = dict(type='EpochBasedRunner', max_epochs=1)
        log_config = dict(interval=1)
    '''))
    work = tmp_path / 'work'
    log = _py('tools/train.py', cfg, '--work-dir', work, '--seed', 0)
    assert (work / 'epoch_1.pth').is_file() and 'loss_iou' in log
    out = _py('tools/test.py', cfg, work / 'epoch_1.pth', '--eval', 'bbox')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out and 'bbox_mAP' in out
