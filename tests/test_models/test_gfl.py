"""Generalized Focal Loss (``configs/gfl``): GFLHead, the GFL detector,
Distribution Focal Loss and the Quality Focal Loss they train with.

Every original config file builds the state-dict layout of the original
checkpoint (``tests/data/fidelity/layouts_2x_gfl.json``); each distinct model
runs a training step and decodes; the integral, the DFL bins, QFL and the
head's targets and losses are checked against hand computations and against
a per-level transcription of 2.10's ``GFLHead.loss_single``; a tiny model
overfits one image; tools/train.py + tools/test.py run on generated shapes.
"""
import glob
import json
import math
import os.path as osp
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmdet.models.dense_heads.gfl_head  # noqa: F401  (registers GFLHead)
import mmdet.models.detectors.gfl  # noqa: F401  (registers GFL)
import mmdet.models.losses.gfocal_loss  # noqa: F401  (registers DistributionFocalLoss)
from mmdet.core import bbox_overlaps, distance2bbox, images_to_levels
from mmdet.models import build_detector, build_head, build_loss
from mmdet.models.dense_heads.gfl_head import Integral, anchor_center, gfl_box_targets
from mmdet.models.dense_heads.prior_targets import atss_prior_targets
from mmdet.models.losses.gfocal_loss import dfl_bins
from mmdet.utils import Config
from mmdet.utils.errors import InvalidArgumentError
from tests.conftest import ROOT, run_env

LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_gfl.json')))
CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs')) for p in glob.glob(osp.join(ROOT, 'configs', 'gfl', '*.py')))
# the distinct models (the 1x and mstrain-2x R-50 configs are the same model)
TRAIN_STEP = ['gfl/gfl_r50_fpn_1x_coco.py', 'gfl/gfl_r101_fpn_mstrain_2x_coco.py',
              'gfl/gfl_r101_fpn_dconv_c3-c5_mstrain_2x_coco.py', 'gfl/gfl_x101_32x4d_fpn_mstrain_2x_coco.py',
              'gfl/gfl_x101_32x4d_fpn_dconv_c4-c5_mstrain_2x_coco.py']
GFL_MODULES = ['mmdet.models.dense_heads.gfl_head', 'mmdet.models.detectors.gfl', 'mmdet.models.losses.gfocal_loss']


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


def _meta(h, w):
    return dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32),
                flip=False, flip_direction=None)


# ------------------------------------------------------------------ configs and layouts
def test_every_original_config_file_is_shipped():
    assert CONFIGS == sorted(LAYOUTS) and len(CONFIGS) == 6
    assert osp.isfile(osp.join(ROOT, 'configs', 'gfl', 'README.md'))


@pytest.mark.parametrize('name', CONFIGS)
def test_layout_is_the_original_checkpoints(name):
    sd = build_detector(load(name).model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]
    assert torch.equal(sd['bbox_head.integral.project'], torch.arange(17.))


@pytest.mark.parametrize('name', TRAIN_STEP)
def test_training_step_and_inference(name):
    torch.manual_seed(0)
    model = build_detector(load(name).model)
    model.train()
    img = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    losses = model(img=img, img_metas=[_meta(64, 64)], gt_bboxes=[torch.tensor([[5., 8., 40., 50.],
                                                                              [30., 20., 60., 62.]])],
                   gt_labels=[torch.tensor([2, 79])])
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    model.eval()
    with torch.no_grad():
        results = model.simple_test(img, [_meta(64, 64)], rescale=True)
    assert len(results) == 1 and len(results[0]) == 80 and all(r.shape[1] == 5 for r in results[0])


# ------------------------------------------------------------------ integral, DFL, QFL by hand
def test_integral_is_the_expected_distance():
    integral = Integral(reg_max=4)
    p = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])  # E = 0.2 + 0.6 + 0.75 + 0.6 = 2.15
    sides = torch.stack([p.log(), torch.zeros(5), torch.tensor([0., 0., 50., 0., 0.]),
                         torch.tensor([-1e4, -1e4, -1e4, 3., 3.])])  # 2.15, 2 (uniform), 2 (one-hot), 3.5
    out = integral(sides.reshape(1, 20))
    assert out.shape == (1, 4)
    assert torch.allclose(out, torch.tensor([[2.15, 2.0, 2.0, 3.5]]), atol=1e-5)
    # any leading shape: (H, W, 4 * 5) -> (H, W, 4)
    assert integral(torch.zeros(3, 2, 20)).shape == (3, 2, 4)


def test_dfl_splits_the_target_between_the_two_neighbouring_bins():
    target = torch.tensor([2.3, 0.0, 3.0, 3.9])
    left, right, wl, wr = dfl_bins(target)
    assert left.tolist() == [2, 0, 3, 3] and right.tolist() == [3, 1, 4, 4]
    assert torch.allclose(wl, torch.tensor([0.7, 1.0, 1.0, 0.1]))
    assert torch.allclose(wr, torch.tensor([0.3, 0.0, 0.0, 0.9]))
    assert torch.allclose(wl * left + wr * right, target)  # the two bins' expectation is the target

    logits = torch.tensor([[0.5, -1.0, 2.0, 0.3, 0.0]])
    z = sum(math.exp(v) for v in logits[0].tolist())
    logp = [v - math.log(z) for v in logits[0].tolist()]
    expected = -(0.7 * logp[2] + 0.3 * logp[3])
    dfl = build_loss(dict(type='DistributionFocalLoss', loss_weight=0.25))
    assert dfl(logits, torch.tensor([2.3])).item() == pytest.approx(0.25 * expected, rel=1e-5)
    # the original: CE(left) * w_l + CE(right) * w_r
    ref = F.cross_entropy(logits, torch.tensor([2])) * 0.7 + F.cross_entropy(logits, torch.tensor([3])) * 0.3
    assert dfl(logits, torch.tensor([2.3]), reduction_override='none', weight=torch.tensor([2.0])).item() == \
        pytest.approx(0.25 * 2 * ref.item(), rel=1e-5)
    with pytest.raises(InvalidArgumentError, match=r'\[0, 4\)'):
        dfl(logits, torch.tensor([4.0]))


def _orig_qfl(pred, label, score, beta=2.0):
    """2.10's quality_focal_loss (per sample, summed over classes), transcribed."""
    sig = pred.sigmoid()
    loss = F.binary_cross_entropy_with_logits(pred, torch.zeros_like(pred), reduction='none') * sig.pow(beta)
    pos = ((label >= 0) & (label < pred.size(1))).nonzero().squeeze(1)
    pl = label[pos]
    loss[pos, pl] = F.binary_cross_entropy_with_logits(pred[pos, pl], score[pos], reduction='none') * \
        (score[pos] - sig[pos, pl]).abs().pow(beta)
    return loss.sum(dim=1)


def test_quality_focal_loss_fixed_case():
    pred = torch.tensor([[0.0, 1.0, -2.0], [0.5, -1.0, 3.0]])
    labels, quality = torch.tensor([1, 3]), torch.tensor([0.6, 0.0])  # image 0 class 1 at IoU 0.6; 1 background
    weight = torch.tensor([1.0, 0.5])

    def sig(x):
        return 1 / (1 + math.exp(-x))

    def bce(x, t):
        return math.log(1 + math.exp(x)) - t * x

    def neg(x):
        return bce(x, 0) * sig(x) ** 2

    row0 = neg(0.0) + bce(1.0, 0.6) * abs(0.6 - sig(1.0)) ** 2 + neg(-2.0)
    row1 = neg(0.5) + neg(-1.0) + neg(3.0)
    qfl = build_loss(dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0))
    got = qfl(pred, (labels, quality), weight=weight, avg_factor=2.0)
    assert got.item() == pytest.approx((row0 + 0.5 * row1) / 2.0, rel=1e-5)
    ref = (_orig_qfl(pred, labels, quality) * weight).sum() / 2.0
    assert got.item() == pytest.approx(ref.item(), rel=1e-6)


# ------------------------------------------------------------------ head targets and losses
def _one_level_head(**kw):
    cfg = dict(type='GFLHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1, reg_max=4,
               norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
               anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=2, scales_per_octave=1,
                                     strides=[8]),
               train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=3), allowed_border=-1, pos_weight=-1),
               test_cfg=dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100))
    cfg.update(kw)
    return build_head(cfg)


def test_box_targets_in_stride_units():
    anchors = torch.tensor([[8., 0., 24., 16.], [96., 96., 160., 160.]])
    gts = torch.tensor([[6., 3., 22., 19.], [0., 100., 300., 140.]])
    centers, boxes, dist = gfl_box_targets(anchors, gts, torch.tensor([8., 16.]), reg_max=4)
    assert torch.allclose(centers, torch.tensor([[2., 1.], [8., 8.]]))
    assert torch.allclose(boxes[0], torch.tensor([0.75, 0.375, 2.75, 2.375]))
    # (l, t, r, b) = (2 - .75, 1 - .375, 2.75 - 2, 2.375 - 1); the second's far sides clamp to reg_max - 0.1
    assert torch.allclose(dist, torch.tensor([[1.25, 0.625, 0.75, 1.375], [3.9, 1.75, 3.9, 0.75]]))


def test_head_losses_by_hand():
    """One 4x4 level (stride 8, 16x16 anchors at grid * 8), one gt (6, 3, 22, 19), ATSS topk=3.

    The three closest anchors are centred at (16, 8), (16, 16), (8, 8) with IoU
    182/330, 154/358, 130/382; mean + std = 0.547 keeps only (16, 8): index 6.
    Uniform distribution logits give 2 strides per side: box (0, -1, 4, 3) in
    stride units around centre (2, 1) against the gt (.75, .375, 2.75, 2.375)
    / 8: IoU = 4 / 16, GIoU = 0.25 (the box encloses the gt).  All class logits
    are b, so the weight is sigmoid(b) and the DFL of each side log 5.
    """
    head = _one_level_head()
    b = -1.0
    cls = torch.full((1, 3, 4, 4), b)
    reg = torch.zeros(1, 20, 4, 4)
    gt, label = torch.tensor([[6., 3., 22., 19.]]), torch.tensor([1])
    _, labels, _, _ = atss_prior_targets(head.anchor_generator, head.assigner, [(4, 4)], gt, label, _meta(32, 32), 3)
    assert (labels < 3).nonzero().squeeze(1).tolist() == [6] and labels[6] == 1
    losses = head.loss([cls], [reg], [gt], [label], [_meta(32, 32)])

    def sig(x):
        return 1 / (1 + math.exp(-x))
    neg = math.log(1 + math.exp(b)) * sig(b) ** 2
    pos = (math.log(1 + math.exp(b)) - 0.25 * b) * (0.25 - sig(b)) ** 2
    assert losses['loss_cls'].item() == pytest.approx((16 * 3 - 1) * neg + pos, rel=1e-5)
    assert losses['loss_bbox'].item() == pytest.approx(2.0 * (1 - 0.25), rel=1e-5)
    assert losses['loss_dfl'].item() == pytest.approx(0.25 * math.log(5), rel=1e-5)

    # pos_weight > 0 is the classification weight of the positive anchor (all its classes)
    head.train_cfg['pos_weight'] = 3.0
    weighted = head.loss([cls], [reg], [gt], [label], [_meta(32, 32)])['loss_cls']
    assert weighted.item() == pytest.approx(15 * 3 * neg + 3 * (2 * neg + pos), rel=1e-5)

    # no gt: zero box losses (not the original's 0 / 0), the classifier still trains
    empty = head.loss([cls.requires_grad_()], [reg.requires_grad_()], [torch.zeros(0, 4)],
                      [torch.zeros(0, dtype=torch.long)], [_meta(32, 32)])
    assert empty['loss_bbox'].item() == 0 and empty['loss_dfl'].item() == 0
    assert empty['loss_cls'].item() == pytest.approx(16 * 3 * neg, rel=1e-5)
    sum(empty.values()).backward()
    assert reg.grad is not None and cls.grad.abs().sum() > 0


def _orig_gfl_loss(head, cls_scores, bbox_preds, per_img):
    """2.10's GFLHead.loss / loss_single, per level, transcribed (targets from the shared ATSS assignment)."""
    n = head.reg_max
    num_levels = [c.shape[-2] * c.shape[-1] for c in cls_scores]
    anchors_l, labels_l, gts_l, lw_l = (images_to_levels([p[k] for p in per_img], num_levels) for k in range(4))
    num_total = max(float(sum(max(int((p[1] < head.num_classes).sum()), 1) for p in per_img)), 1.0)
    project = torch.linspace(0, n, n + 1)
    out_cls, out_bbox, out_dfl, avg = [], [], [], []
    for anchors, cls, reg, labels, lw, bt, stride in zip(anchors_l, cls_scores, bbox_preds, labels_l, lw_l, gts_l,
                                                         head.strides):
        anchors, bt, labels, lw = anchors.reshape(-1, 4), bt.reshape(-1, 4), labels.reshape(-1), lw.reshape(-1)
        cls = cls.permute(0, 2, 3, 1).reshape(-1, head.num_classes)
        reg = reg.permute(0, 2, 3, 1).reshape(-1, 4 * (n + 1))
        pos = ((labels >= 0) & (labels < head.num_classes)).nonzero().squeeze(1)
        score = lw.new_zeros(labels.shape)
        if len(pos) > 0:
            centers = anchor_center(anchors[pos]) / stride
            w = cls.detach().sigmoid().max(dim=1)[0][pos]
            corners = F.linear(F.softmax(reg[pos].reshape(-1, n + 1), dim=1), project).reshape(-1, 4)
            pred = distance2bbox(centers, corners)
            tgt = bt[pos] / stride
            score[pos] = bbox_overlaps(pred.detach(), tgt, is_aligned=True)
            d = torch.stack([centers[:, 0] - tgt[:, 0], centers[:, 1] - tgt[:, 1], tgt[:, 2] - centers[:, 0],
                             tgt[:, 3] - centers[:, 1]], -1).clamp(min=0, max=n - 0.1).reshape(-1)
            logits = reg[pos].reshape(-1, n + 1)
            dl = d.long()
            dfl = F.cross_entropy(logits, dl, reduction='none') * (dl + 1 - d) + \
                F.cross_entropy(logits, dl + 1, reduction='none') * (d - dl)
            out_bbox.append(head.loss_bbox(pred, tgt, weight=w, avg_factor=1.0))
            out_dfl.append(0.25 * (dfl * w[:, None].expand(-1, 4).reshape(-1)).sum() / 4.0)
            avg.append(w.sum())
        else:
            out_bbox.append(reg.sum() * 0)
            out_dfl.append(reg.sum() * 0)
            avg.append(torch.tensor(0.))
        out_cls.append((_orig_qfl(cls, labels, score) * lw).sum() / num_total)
    a = sum(avg).item()
    return dict(loss_cls=sum(out_cls), loss_bbox=sum(x / a for x in out_bbox), loss_dfl=sum(x / a for x in out_dfl))


def test_losses_match_the_original_per_level_computation():
    torch.manual_seed(0)
    head = _one_level_head(anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
                                                 scales_per_octave=1, strides=[8, 16, 32]),
                           train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1,
                                          pos_weight=-1))
    sizes = [(8, 10), (4, 5), (2, 3)]
    cls = [torch.randn(2, 3, h, w) for h, w in sizes]
    reg = [torch.randn(2, 20, h, w) * 2 for h, w in sizes]
    metas = [_meta(64, 80), dict(_meta(56, 70), pad_shape=(64, 80, 3))]
    gts = [torch.tensor([[4., 6., 30., 40.], [20., 10., 78., 60.]]), torch.tensor([[10., 12., 50., 50.]])]
    labels = [torch.tensor([0, 2]), torch.tensor([1])]
    ours = head.loss(cls, reg, gts, labels, metas)
    per_img = [atss_prior_targets(head.anchor_generator, head.assigner, sizes, gts[i], labels[i], metas[i], 3)
               for i in range(2)]
    assert sum(int((p[1] < 3).sum()) for p in per_img) > 3
    ref = _orig_gfl_loss(head, cls, reg, per_img)
    for k in ref:
        assert ours[k].item() == pytest.approx(ref[k].item(), rel=1e-5), k


def test_decode_boxes_and_scores():
    head = _one_level_head()
    cls = torch.full((1, 3, 4, 4), -10.)
    cls[0, 2, 1, 2] = 2.0  # class 2 at the anchor centred (16, 8)
    reg = torch.zeros(1, 20, 4, 4)  # 2 strides = 16 px per side
    metas = [dict(_meta(32, 32), scale_factor=np.full(4, 2.0, np.float32))]
    (dets, det_labels), = head.get_bboxes([cls], [reg], metas, rescale=True)
    assert det_labels.tolist() == [2]
    assert torch.allclose(dets[0], torch.tensor([0., 0., 32., 24., 1 / (1 + math.exp(-2.))]) / torch.tensor(
        [2., 2., 2., 2., 1.]), atol=1e-5)  # (16 - 16, 8 - 16, 16 + 16, 8 + 16) clipped to 32x32, then / 2
    boxes, scores = head.get_bboxes([cls], [reg], metas, with_nms=False)[0]
    assert boxes.shape == (16, 4) and scores.shape == (16, 4) and (scores[:, 3] == 0).all()


def test_bad_head_arguments_are_named():
    with pytest.raises(ValueError, match='one anchor per location'):
        _one_level_head(anchor_generator=dict(type='AnchorGenerator', ratios=[0.5, 1.0], octave_base_scale=2,
                                              scales_per_octave=1, strides=[8]))
    with pytest.raises(ValueError, match='reg_max'):
        _one_level_head(reg_max=0)


# ------------------------------------------------------------------ training
def _tiny_gfl():
    cfg = load('gfl/gfl_r50_fpn_1x_coco.py').model
    cfg.backbone.update(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False)
    cfg.neck.update(in_channels=[16, 32, 64, 128], out_channels=16)
    cfg.bbox_head.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                         norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    return build_detector(cfg)


def test_loss_falls_when_overfitting_one_image():
    torch.manual_seed(0)
    model = _tiny_gfl()
    model.train()
    img = torch.zeros(1, 3, 64, 64)
    img[:, :, 10:40, 8:36] = 2.0
    img[:, 1, 36:60, 30:62] = -2.0
    batch = dict(img=img, img_metas=[_meta(64, 64)], gt_bboxes=[torch.tensor([[8., 10., 36., 40.],
                                                                             [30., 36., 62., 60.]])],
                 gt_labels=[torch.tensor([0, 2])])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    totals = []
    for _ in range(40):
        losses = model(**batch)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    assert all(math.isfinite(t) for t in totals)
    assert np.mean(totals[-5:]) < 0.6 * np.mean(totals[:5]), totals


def test_train_and_test_tools_on_shapes(tmp_path, shapes_data):
    base = osp.join(ROOT, 'configs', 'gfl', 'gfl_r50_fpn_1x_coco.py')
    cfg = tmp_path / 'gfl_r18_shapes.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {base!r}
        custom_imports = dict(imports={GFL_MODULES!r}, allow_failed_imports=False)
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False),
            neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
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
        runner = dict(type='EpochBasedRunner', max_epochs=2)
        log_config = dict(interval=1)
    '''))
    work = tmp_path / 'work'

    def py(*args):
        out = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, env=run_env(), capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, f'{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}'
        return out.stdout + out.stderr

    log = py(osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', work, '--seed', 0, '--no-validate')
    assert (work / 'epoch_2.pth').is_file() and 'loss_dfl' in log
    ckpt = torch.load(work / 'epoch_2.pth', weights_only=False)
    assert 'bbox_head.integral.project' in ckpt['state_dict']
    out = py(osp.join(ROOT, 'tools', 'test.py'), cfg, work / 'epoch_2.pth', '--eval', 'bbox')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out
    assert re.search(r"'bbox_mAP': ([0-9.]+)", out)
