"""PISA and SABL on RetinaNet (``configs/pisa`` single-stage configs, ``configs/sabl``
sabl_retinanet configs): PISARetinaHead with ISR-P and CARL, SABLRetinaHead
with the BucketingBBoxCoder and the ApproxMaxIoUAssigner.

Every config file is the original's bytes and builds with the exact state-dict
layout of the original checkpoint (``tests/data/fidelity/layouts_2x_pisa_sabl.json``);
each distinct R-50 model runs a training step and decodes; ISR-P, CARL, the
bucketing coder, the approx assigner and the SABL targets / losses / decoding
are checked against hand computations and against transcriptions of 2.10's
loops; tiny models overfit one image; SABL trains with tools/train.py and
evaluates with tools/test.py on generated shapes.
"""
import glob
import hashlib
import json
import math
import os.path as osp
import re
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

# register the modules (no __init__ import needed)
import mmdet.core.bbox.assigners.approx_max_iou_assigner  # noqa: F401
import mmdet.core.bbox.coder.bucketing_bbox_coder  # noqa: F401
import mmdet.models.dense_heads.pisa_retinanet_head  # noqa: F401
import mmdet.models.dense_heads.sabl_retina_head  # noqa: F401
from mmdet.core import bbox_overlaps, build_assigner, build_bbox_coder, images_to_levels
from mmdet.core.bbox.assigners.approx_max_iou_assigner import ApproxMaxIoUAssigner
from mmdet.core.bbox.coder.bucketing_bbox_coder import bbox2bucket, bbox_rescale, bucket2bbox
from mmdet.models import build_detector, build_head, build_loss
from mmdet.models.losses.pisa_loss import carl_loss, isr_p, isr_p_weights, rank_within_groups
from mmdet.utils import Config
from mmdet.utils.errors import InvalidArgumentError
from tests.conftest import ROOT, run_env

LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_pisa_sabl.json')))
MODULES = ['mmdet.core.bbox.assigners.approx_max_iou_assigner', 'mmdet.core.bbox.coder.bucketing_bbox_coder',
           'mmdet.models.dense_heads.pisa_retinanet_head', 'mmdet.models.dense_heads.sabl_retina_head']
# sha256 of the original repository's files (hyz-xmaster/VarifocalNet)
ORIGINAL_SHA256 = {
    'pisa/README.md': '295746fd1d9f07db8c8c0ca7399a4abe9731ead4c1859a8ebcac7d1e9c68994b',
    'pisa/pisa_retinanet_r50_fpn_1x_coco.py': '426f80ca74680637905d650acdb70f3cb662467749875c71b8d5a1cb508604d7',
    'pisa/pisa_retinanet_x101_32x4d_fpn_1x_coco.py':
        '575fe207e11f4dfd11e3844d40f3cd2e88db1ef704e55f3682f0a644dfc99c70',
    'sabl/README.md': 'e33e7d814e0a0938fc34bb0d620bb414368b9e4f179a8f8cf59aadfdc78513e6',
    'sabl/sabl_retinanet_r101_fpn_1x_coco.py': 'ef0cf99f03246aa18058808beed7bf3c694d073fa86a85b16661bf9e83c4f6c6',
    'sabl/sabl_retinanet_r101_fpn_gn_1x_coco.py': '3beba299839c149bd5050389ab922996589903716dfad07400775cf68cb8a3fb',
    'sabl/sabl_retinanet_r101_fpn_gn_2x_ms_480_960_coco.py':
        'b5f15a5fa05c395049c395af90faaf9789de1a9e53c90d161412f2319897c997',
    'sabl/sabl_retinanet_r101_fpn_gn_2x_ms_640_800_coco.py':
        'd9d5ff4136752cfebe9fb8cf29ed12f68be3ceff9f198a0135a85b3e6fed1cea',
    'sabl/sabl_retinanet_r50_fpn_1x_coco.py': 'cad4267288f71629abea550195df809a932cc2d7421f0ee8b89800258281db3b',
    'sabl/sabl_retinanet_r50_fpn_gn_1x_coco.py': 'fd15a5128aa18ce5dfe08a1ce98986ebb135700dce8a03af2a16c1062c232be9',
}
CONFIGS = sorted(k for k in ORIGINAL_SHA256 if k.endswith('.py'))
# the distinct R-50 models; the ones are build + layout only
TRAIN_STEP = ['pisa/pisa_retinanet_r50_fpn_1x_coco.py', 'sabl/sabl_retinanet_r50_fpn_1x_coco.py',
              'sabl/sabl_retinanet_r50_fpn_gn_1x_coco.py']
LOSS_KEYS = {'pisa': {'loss_cls', 'loss_bbox', 'loss_carl'}, 'sabl': {'loss_cls', 'loss_bbox_cls', 'loss_bbox_reg'}}


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


def _meta(h, w, pad=None):
    pad = pad or (h, w)
    return dict(img_shape=(h, w, 3), pad_shape=(pad[0], pad[1], 3), ori_shape=(h, w, 3),
                scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)


def _sig(x):
    return 1 / (1 + math.exp(-x))


# ------------------------------------------------------------------ configs and layouts
def test_config_files_are_the_originals():
    shipped = sorted(osp.relpath(p, osp.join(ROOT, 'configs')) for f in ('pisa', 'sabl')
                     for p in glob.glob(osp.join(ROOT, 'configs', f, '*')))
    assert shipped == sorted(ORIGINAL_SHA256)
    for rel, digest in ORIGINAL_SHA256.items():
        with open(osp.join(ROOT, 'configs', rel), 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, rel
    assert CONFIGS == sorted(LAYOUTS) and len(CONFIGS) == 8


@pytest.mark.parametrize('name', CONFIGS)
def test_layout_is_the_original_checkpoints(name):
    cfg = load(name)
    sd = build_detector(cfg.model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]
    if name.startswith('pisa'):
        assert dict(cfg.model.train_cfg.isr) == dict(k=2., bias=0.)
        assert dict(cfg.model.train_cfg.carl) == dict(k=1., bias=0.2)


@pytest.mark.parametrize('name', TRAIN_STEP)
def test_training_step_and_inference(name):
    torch.manual_seed(0)
    model = build_detector(load(name).model)
    model.train()
    img = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    losses = model(img=img, img_metas=[_meta(64, 64)], gt_bboxes=[torch.tensor([[5., 8., 40., 50.],
                                                                              [30., 20., 60., 62.]])],
                   gt_labels=[torch.tensor([2, 79])])
    assert set(losses) == LOSS_KEYS[name.split('/')[0]]
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    model.eval()
    with torch.no_grad():
        results = model.simple_test(img, [_meta(64, 64)], rescale=True)
    assert len(results) == 1 and len(results[0]) == 80 and all(r.shape[1] == 5 for r in results[0])


# ------------------------------------------------------------------ ISR-P
def test_rank_within_groups():
    values = torch.tensor([0.3, 0.9, 0.5, 0.1, 0.7])
    groups = torch.tensor([1, 0, 1, 0, 1])
    assert rank_within_groups(values, groups).tolist() == [2, 0, 1, 1, 0]


def test_isr_p_weights_by_hand():
    """Class 0 has gt 0 (positives IoU .8 and .9) and gt 1 (IoU .3); class 1 one positive.

    Local ranks: .9 -> 0, .8 -> 1 (gt 0); .3 -> 0 (gt 1).  IoU-HLR in class 0
    orders by local rank first: .9, .3, .8 (plain IoU would say .9, .8, .3).
    n_max = 3, so the weights are (3 - r) / 3 = 1, 2/3, 1/3 before the mapping.
    """
    ious = torch.tensor([0.8, 0.9, 0.3, 0.6])
    labels = torch.tensor([0, 0, 0, 1])
    gt_ids = torch.tensor([0, 0, 1, 2])
    ones = torch.ones(4)
    w = isr_p_weights(ious, labels, gt_ids, ones, k=2.0, bias=0.0)
    assert torch.allclose(w, torch.tensor([1 / 9, 1.0, 4 / 9, 1.0]))
    w = isr_p_weights(ious, labels, gt_ids, ones, k=1.0, bias=0.2)
    assert torch.allclose(w, torch.tensor([0.2 + 0.8 / 3, 1.0, 0.2 + 0.8 * 2 / 3, 1.0]))
    # the original weights scale the rank weight
    w = isr_p_weights(ious, labels, gt_ids, torch.tensor([1., 1., 0.5, 2.]), k=1.0, bias=0.0)
    assert torch.allclose(w, torch.tensor([1 / 3, 1.0, 1 / 3, 2.0]))


def _orig_isr_p(cls_score, bbox_pred, targets, rois, sampling_results, loss_cls, bbox_coder, k=2, bias=0,
                num_class=80):
    """2.10's ``isr_p`` (single-stage branch), transcribed with its loops."""
    labels, label_weights, bbox_targets, bbox_weights = targets
    label_weights = label_weights.clone()
    pos_label_inds = ((labels >= 0) & (labels < num_class)).nonzero().reshape(-1)
    pos_labels = labels[pos_label_inds]
    gts, last_max_gt = [], 0
    for res in sampling_results:
        gt_i = res.pos_assigned_gt_inds
        gts.append(gt_i + last_max_gt)
        if len(gt_i) != 0:
            last_max_gt = gt_i.max() + 1
    gts = torch.cat(gts)
    pos_rois = rois[pos_label_inds]
    pos_delta_pred = bbox_pred[pos_label_inds].view(-1, 4)
    pos_delta_target = bbox_targets[pos_label_inds].view(-1, 4)
    ious = bbox_overlaps(bbox_coder.decode(pos_rois, pos_delta_pred),
                         bbox_coder.decode(pos_rois, pos_delta_target), is_aligned=True)
    pos_imp_weights = label_weights[pos_label_inds]
    max_l_num = pos_labels.bincount().max()
    for label in pos_labels.unique():
        l_inds = (pos_labels == label).nonzero().view(-1)
        l_gts = gts[l_inds]
        for t in l_gts.unique():
            t_inds = l_inds[l_gts == t]
            _, t_iou_rank_idx = ious[t_inds].sort(descending=True)
            _, t_iou_rank = t_iou_rank_idx.sort()
            ious[t_inds] += max_l_num - t_iou_rank.float()
        _, l_iou_rank_idx = ious[l_inds].sort(descending=True)
        _, l_iou_rank = l_iou_rank_idx.sort()
        pos_imp_weights[l_inds] *= (max_l_num - l_iou_rank.float()) / max_l_num
    pos_imp_weights = (bias + pos_imp_weights * (1 - bias)).pow(k)
    pos_loss_cls = loss_cls(cls_score[pos_label_inds], pos_labels, reduction_override='none')
    ori = pos_loss_cls * label_weights[pos_label_inds][:, None]
    new = pos_loss_cls * pos_imp_weights[:, None]
    label_weights[pos_label_inds] = pos_imp_weights * ori.sum() / new.sum()
    return labels, label_weights, bbox_targets, bbox_weights


def test_isr_p_matches_the_original_loops_and_keeps_the_positive_loss():
    g = torch.Generator().manual_seed(1)
    n, num_class = 40, 3
    anchors = torch.rand(n, 2, generator=g) * 50
    anchors = torch.cat([anchors, anchors + 10 + torch.rand(n, 2, generator=g) * 20], dim=1)
    labels = torch.full((n,), num_class, dtype=torch.long)
    pos = torch.tensor([1, 3, 4, 8, 11, 15, 20, 22, 23, 30, 31, 37])  # image 0: < 20, image 1: >= 20
    gt_of_pos = torch.tensor([0, 1, 0, 0, 2, 1, 0, 1, 1, 0, 0, 1])  # per-image gt index
    gt_labels = [torch.tensor([0, 2, 0]), torch.tensor([1, 0])]
    labels[pos[:6]] = gt_labels[0][gt_of_pos[:6]]
    labels[pos[6:]] = gt_labels[1][gt_of_pos[6:]]
    label_weights = torch.ones(n)
    bbox_targets = torch.randn(n, 4, generator=g) * 0.2
    bbox_weights = torch.zeros(n, 4)
    bbox_weights[pos] = 1
    cls_score = torch.randn(n, num_class, generator=g)
    bbox_pred = bbox_targets + torch.randn(n, 4, generator=g) * 0.3
    results = [SimpleNamespace(pos_assigned_gt_inds=gt_of_pos[:6], num_gts=3),
               SimpleNamespace(pos_assigned_gt_inds=gt_of_pos[6:], num_gts=2)]
    coder = build_bbox_coder(dict(type='DeltaXYWHBBoxCoder'))
    focal = build_loss(dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0))
    targets = (labels, label_weights, bbox_targets, bbox_weights)

    ours = isr_p(cls_score, bbox_pred, targets, anchors, results, focal, coder, k=2., bias=0., num_class=num_class)
    ref = _orig_isr_p(cls_score, bbox_pred, targets, anchors, results, focal, coder, k=2., bias=0.,
                      num_class=num_class)
    assert torch.allclose(ours[1], ref[1], atol=1e-6)
    assert torch.equal(label_weights, torch.ones(n))  # the input is left as it was
    neg = labels == num_class
    assert torch.equal(ours[1][neg], label_weights[neg])
    assert not torch.allclose(ours[1][pos], torch.ones(len(pos)))
    # normalised: the positives' total classification loss is unchanged
    pos_loss = focal(cls_score[pos], labels[pos], reduction_override='none').sum(dim=1)
    assert (pos_loss * ours[1][pos]).sum().item() == pytest.approx(pos_loss.sum().item(), rel=1e-5)
    # no positive: the targets come back as they are
    bg = (torch.full((n,), num_class, dtype=torch.long), label_weights, bbox_targets, bbox_weights)
    assert isr_p(cls_score, bbox_pred, bg, anchors, [], focal, coder, num_class=num_class)[1] is label_weights


# ------------------------------------------------------------------ CARL
def test_carl_loss_fixed_case():
    cls_score = torch.tensor([[0.0, 1.0], [2.0, -1.0], [-0.5, 0.5]], requires_grad=True)
    labels = torch.tensor([0, 2, 1])  # 2 = background
    bbox_pred = torch.zeros(3, 4)
    bbox_targets = torch.tensor([[0.1, -0.2, 0.3, 0.0], [9., 9., 9., 9.], [0.5, 0.5, -0.1, 0.2]])
    l1 = build_loss(dict(type='L1Loss', loss_weight=1.0))
    out = carl_loss(cls_score, labels, bbox_pred, bbox_targets, l1, k=1, bias=0.2, avg_factor=2.0, sigmoid=True,
                    num_class=2)
    w0, w2 = 0.2 + 0.8 * 0.5, 0.2 + 0.8 * _sig(0.5)  # p = sigmoid(0.0) at class 0, sigmoid(0.5) at class 1
    w0, w2 = 2 * w0 / (w0 + w2), 2 * w2 / (w0 + w2)  # normalised to average 1
    expected = (w0 * 0.6 + w2 * 1.3) / 2.0  # L1 sums 0.6 and 1.3, over avg_factor 2
    assert set(out) == {'loss_carl'}
    assert out['loss_carl'].item() == pytest.approx(expected, rel=1e-6)
    out['loss_carl'].backward()
    # the gradient reaches the scores of the positives at their classes only
    assert cls_score.grad[0, 0] != 0 and cls_score.grad[2, 1] != 0
    assert cls_score.grad[1].abs().sum() == 0 and cls_score.grad[0, 1] == 0

    # softmax scores, k = 2
    out = carl_loss(cls_score.detach(), labels, bbox_pred, bbox_targets, l1, k=2, bias=0.0, avg_factor=None,
                    num_class=2)
    p = cls_score.detach().softmax(-1)
    w = torch.stack([p[0, 0], p[2, 1]]) ** 2
    w = w * 2 / w.sum()
    assert out['loss_carl'].item() == pytest.approx(((w[0] * 0.6 + w[1] * 1.3) / 3).item(), rel=1e-6)

    empty = carl_loss(cls_score, torch.tensor([2, 2, 2]), bbox_pred, bbox_targets, l1, num_class=2)
    assert empty['loss_carl'].item() == 0 and empty['loss_carl'].requires_grad


# ------------------------------------------------------------------ PISA head
def _pisa_head(train_cfg_extra):
    train_cfg = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                                   ignore_iof_thr=-1), allowed_border=-1, pos_weight=-1, debug=False)
    train_cfg.update(train_cfg_extra)
    return build_head(dict(type='PISARetinaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
                           anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=2,
                                                 ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
                           loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0), train_cfg=train_cfg))


def test_pisa_head_losses():
    """Against RetinaHead's own per-level losses (no ISR-P, no CARL); ISR-P keeps
    ``loss_cls`` (it only moves weight between the positives) but changes its
    gradient; with all class scores equal the CARL weights are 1 and
    ``loss_carl == loss_bbox``."""
    torch.manual_seed(0)
    plain = _pisa_head({})
    sizes = [(8, 8), (4, 4)]
    cls = [torch.randn(2, 18, h, w) for h, w in sizes]
    reg = [torch.randn(2, 24, h, w) * 0.3 for h, w in sizes]
    metas = [_meta(64, 64), _meta(56, 60, pad=(64, 64))]
    gts = [torch.tensor([[4., 6., 30., 40.], [20., 10., 60., 60.]]), torch.tensor([[10., 12., 50., 50.]])]
    labels = [torch.tensor([0, 2]), torch.tensor([1])]
    ours = plain.loss(cls, reg, gts, labels, metas)
    retina = super(type(plain), plain).loss(cls, reg, gts, labels, metas)  # RetinaHead's per-level loss
    assert set(ours) == {'loss_cls', 'loss_bbox'}
    for k in ours:
        assert ours[k].item() == pytest.approx(sum(retina[k]).item(), rel=1e-5), k

    pisa = _pisa_head(dict(isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2)))
    pisa.load_state_dict(plain.state_dict())
    cls_g = [c.clone().requires_grad_() for c in cls]
    got = pisa.loss(cls_g, reg, gts, labels, metas)
    assert set(got) == {'loss_cls', 'loss_bbox', 'loss_carl'}
    assert got['loss_cls'].item() == pytest.approx(ours['loss_cls'].item(), rel=1e-5)
    assert got['loss_bbox'].item() == pytest.approx(ours['loss_bbox'].item(), rel=1e-6)
    cls_p = [c.clone().requires_grad_() for c in cls]
    plain.loss(cls_p, reg, gts, labels, metas)['loss_cls'].backward()
    got['loss_cls'].backward()
    assert not torch.allclose(cls_g[0].grad, cls_p[0].grad)

    flat = [torch.zeros_like(c) for c in cls]
    same = pisa.loss(flat, reg, gts, labels, metas)
    assert same['loss_carl'].item() == pytest.approx(same['loss_bbox'].item(), rel=1e-5)


def test_pisa_bad_train_cfg_key_is_named():
    with pytest.raises(KeyError, match=r"train_cfg.isr: unknown key\(s\) \['gamma'\]"):
        _pisa_head(dict(isr=dict(k=2., gamma=1.)))


# ------------------------------------------------------------------ the bucketing coder
def test_bucketing_targets_of_a_hand_made_box():
    """Prior (0, 0, 10, 10) x 3 = (-10, -10, 20, 20); 6 buckets of 5 px, 3 per side.

    Bucket centres: left -7.5, -2.5, 2.5; right 17.5, 12.5, 7.5 (same in y).
    gt (1, -3, 14, 9): offsets (centre - side) / 5 are
    left (-1.7, -0.7, 0.3), right (0.7, -0.3, -1.3), top (-0.9, 0.1, 1.1),
    down (1.7, 0.7, -0.3).
    """
    prior, gt = torch.tensor([[0., 0., 10., 10.]]), torch.tensor([[1., -3., 14., 9.]])
    assert torch.allclose(bbox_rescale(prior, 3.0), torch.tensor([[-10., -10., 20., 20.]]))
    offsets, offset_w, labels, cls_w = bbox2bucket(prior, gt, 6, 3.0, offset_topk=2, offset_upperbound=0.8)
    assert torch.allclose(offsets, torch.tensor([[-1.7, -0.7, 0.3, 0.7, -0.3, -1.3, -0.9, 0.1, 1.1,
                                                  1.7, 0.7, -0.3]]), atol=1e-6)
    # nearest bucket, and the second nearest when below the upper bound 0.8 (top's 0.9 is not)
    assert offset_w.tolist() == [[0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1]]
    assert labels.tolist() == [[0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1]]
    # the other buckets within one bucket width of the side are ignored by the bucket classification
    assert cls_w.tolist() == [[1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1]]
    _, offset_w1, _, cls_w1 = bbox2bucket(prior, gt, 6, 3.0, offset_topk=2, offset_upperbound=1.0,
                                          cls_ignore_neighbor=False)
    assert offset_w1.tolist() == [[0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1]]
    assert cls_w1.tolist() == [[1] * 12]
    # topk 1: the nearest buckets only
    assert bbox2bucket(prior, gt, 6, 3.0, offset_topk=1)[1].tolist() == labels.tolist()

    # decode: the target buckets with the target offsets give back the gt; max_shape (h, w) clips to w-1, h-1
    boxes, _ = bucket2bbox(prior, labels * 10, offsets, 6, 3.0)
    assert torch.allclose(boxes, gt, atol=1e-5)
    boxes, _ = bucket2bbox(prior, labels * 10, offsets, 6, 3.0, max_shape=(8, 12))
    assert torch.allclose(boxes, torch.tensor([[1., 0., 11., 7.]]), atol=1e-5)
    boxes, _ = bucket2bbox(prior, labels * 10, offsets, 6, 3.0, max_shape=(8, 12), clip_border=False)
    assert torch.allclose(boxes, gt, atol=1e-5)


def test_bucketing_localisation_confidence_by_hand():
    prior = torch.tensor([[0., 0., 10., 10.]])
    logits = torch.tensor([[0., 1., 2.,  # left: top 2, second 1: neighbours -> p2 + p1
                            2., 0., 1.,  # right: top 0, second 2: not neighbours -> p0
                            0., 3., 0.5,  # top: top 1, second 2: neighbours
                            1., 4., 3.]])  # down: top 1, second 2: neighbours
    offsets = torch.zeros(1, 12)
    boxes, conf = bucket2bbox(prior, logits, offsets, 6, 3.0)
    e = [math.exp(v) for v in (0., 1., 2.)]
    left = (e[2] + e[1]) / sum(e)
    right = e[2] / sum(e)  # exp(2) / (exp(2) + 1 + exp(1)), the same three logits
    top = (math.exp(3.) + math.exp(0.5)) / (math.exp(3.) + math.exp(0.5) + 1)
    down = (math.exp(4.) + math.exp(3.)) / (math.exp(1.) + math.exp(4.) + math.exp(3.))
    assert conf.item() == pytest.approx((left + right + top + down) / 4, rel=1e-6)
    # the chosen bucket centres, no offset: left bucket 2 (2.5), right 0 (17.5), top 1 (-2.5), down 1 (12.5)
    assert torch.allclose(boxes, torch.tensor([[2.5, -2.5, 17.5, 12.5]]))


def _orig_bbox2bucket(proposals, gt, num_buckets, scale_factor, offset_topk=2, offset_upperbound=1.0,
                      cls_ignore_neighbor=True):
    """2.10's ``bbox2bucket`` (with ``generat_buckets``), transcribed."""
    proposals = bbox_rescale(proposals.float(), scale_factor)
    side_num = int(np.ceil(num_buckets / 2.0))
    pw, ph = proposals[..., 2] - proposals[..., 0], proposals[..., 3] - proposals[..., 1]
    bw, bh = pw / num_buckets, ph / num_buckets
    steps = (0.5 + torch.arange(0, side_num).float())[None, :]
    lb = proposals[:, 0, None] + steps * bw[:, None]
    rb = proposals[:, 2, None] - steps * bw[:, None]
    tb = proposals[:, 1, None] + steps * bh[:, None]
    db = proposals[:, 3, None] - steps * bh[:, None]
    lo, ro = (lb - gt[:, 0, None]) / bw[:, None], (rb - gt[:, 2, None]) / bw[:, None]
    to, do = (tb - gt[:, 1, None]) / bh[:, None], (db - gt[:, 3, None]) / bh[:, None]
    inds = torch.arange(0, proposals.size(0)).long()
    weights, firsts = [], []
    for o in (lo, ro, to, do):
        topk, label = o.abs().topk(offset_topk, dim=1, largest=False, sorted=True)
        w = o.new_zeros(o.size())
        for k in range(offset_topk):
            w[inds, label[:, k]] = (topk[:, k] < offset_upperbound).float() if k >= 1 else 1.0
        weights.append(w)
        firsts.append(label[:, 0])
    offsets = torch.cat([lo, ro, to, do], dim=-1)
    labels = torch.stack(firsts, dim=-1)
    bucket_labels = F.one_hot(labels.view(-1), side_num).view(labels.size(0), -1).float()
    cls_w = torch.cat([(o.abs() < 1).float() for o in (lo, ro, to, do)], dim=-1)
    if cls_ignore_neighbor:
        cls_w = (~((cls_w == 1) & (bucket_labels == 0))).float()
    else:
        cls_w[:] = 1.0
    return offsets, torch.cat(weights, dim=-1), bucket_labels, cls_w


def _orig_bucket2bbox(proposals, cls_preds, offset_preds, num_buckets, scale_factor=1.0, max_shape=None):
    """2.10's ``bucket2bbox``, transcribed."""
    side_num = int(np.ceil(num_buckets / 2.0))
    scores = F.softmax(cls_preds.view(-1, side_num), dim=1)
    score_topk, score_label = scores.topk(2, dim=1, largest=True, sorted=True)
    p = bbox_rescale(proposals, scale_factor)
    bw, bh = (p[..., 2] - p[..., 0]) / num_buckets, (p[..., 3] - p[..., 1]) / num_buckets
    il, ir, it, idn = (score_label[i::4, 0] for i in range(4))
    offsets = offset_preds.view(-1, 4, side_num)
    inds = torch.arange(proposals.size(0)).long()
    x1 = p[..., 0] + (0.5 + il.float()) * bw - offsets[:, 0, :][inds, il] * bw
    x2 = p[..., 2] - (0.5 + ir.float()) * bw - offsets[:, 1, :][inds, ir] * bw
    y1 = p[..., 1] + (0.5 + it.float()) * bh - offsets[:, 2, :][inds, it] * bh
    y2 = p[..., 3] - (0.5 + idn.float()) * bh - offsets[:, 3, :][inds, idn] * bh
    if max_shape is not None:
        x1, x2 = x1.clamp(min=0, max=max_shape[1] - 1), x2.clamp(min=0, max=max_shape[1] - 1)
        y1, y2 = y1.clamp(min=0, max=max_shape[0] - 1), y2.clamp(min=0, max=max_shape[0] - 1)
    conf = score_topk[:, 0] + score_topk[:, 1] * ((score_label[:, 0] - score_label[:, 1]).abs() == 1).float()
    return torch.stack([x1, y1, x2, y2], dim=-1), conf.view(-1, 4).mean(dim=1)


def test_bucketing_coder_matches_the_original_and_round_trips():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(50, 2, generator=g) * 100
    priors = torch.cat([xy, xy + 8 + torch.rand(50, 2, generator=g) * 60], dim=1)
    gts = priors + torch.randn(50, 4, generator=g) * 6
    gts[:, 2:] = torch.max(gts[:, 2:], gts[:, :2] + 1)
    coder = build_bbox_coder(dict(type='BucketingBBoxCoder', num_buckets=14, scale_factor=3.0))
    ours = coder.encode(priors, gts)
    ref = _orig_bbox2bucket(priors, gts, 14, 3.0)
    assert all(t.shape == (50, 28) for t in ours)
    for a, b in zip(ours, ref):
        assert torch.allclose(a, b, atol=1e-5)
    offsets, _, labels, _ = ours
    boxes, conf = coder.decode(priors, (labels * 20, offsets))
    assert torch.allclose(boxes, gts, atol=1e-3)
    assert torch.allclose(conf, torch.ones(50), atol=1e-6)
    cls_preds, offset_preds = torch.randn(50, 28, generator=g), torch.randn(50, 28, generator=g)
    for a, b in zip(coder.decode(priors, (cls_preds, offset_preds), max_shape=(120, 150)),
                    _orig_bucket2bbox(priors, cls_preds, offset_preds, 14, 3.0, max_shape=(120, 150))):
        assert torch.allclose(a, b, atol=1e-4)


def test_bucketing_coder_bad_arguments_are_named():
    with pytest.raises(InvalidArgumentError, match='num_buckets'):
        build_bbox_coder(dict(type='BucketingBBoxCoder', num_buckets=2, scale_factor=3.0))
    with pytest.raises(InvalidArgumentError, match=r'offset_topk must be an int in \[1, 7\]'):
        build_bbox_coder(dict(type='BucketingBBoxCoder', num_buckets=14, scale_factor=3.0, offset_topk=8))
    coder = build_bbox_coder(dict(type='BucketingBBoxCoder', num_buckets=14, scale_factor=3.0))
    with pytest.raises(InvalidArgumentError, match=r'\(n, 28\)'):
        coder.decode(torch.zeros(2, 4), (torch.zeros(2, 24), torch.zeros(2, 24)))


# ------------------------------------------------------------------ the approx assigner
def test_approx_max_iou_assigner_by_hand():
    """Squares S0, S1, S2 with two approxs each; gts A = (0, 0, 20, 10), B = (22, 0, 32, 10).

    S0's approxs (0, 0, 10, 10), (0, 0, 20, 10): IoU with A .5 and 1 -> 1 (positive A).
    S1's approxs (20, 0, 30, 10), (15, 0, 35, 10): with A 0 and 50/350; with B
    80/120 and 100/200 -> B at 2/3.  S2 is far from both: negative.
    """
    squares = torch.tensor([[0., 0., 10., 10.], [20., 0., 30., 10.], [50., 0., 60., 10.]])
    approxs = torch.tensor([[0., 0., 10., 10.], [0., 0., 20., 10.], [20., 0., 30., 10.], [15., 0., 35., 10.],
                            [50., 0., 60., 10.], [45., 0., 65., 10.]])
    gts = torch.tensor([[0., 0., 20., 10.], [22., 0., 32., 10.]])
    assigner = build_assigner(dict(type='ApproxMaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.0,
                                   ignore_iof_thr=-1))
    overlaps = assigner.approx_overlaps(approxs, squares, 2, gts)
    assert torch.allclose(overlaps, torch.tensor([[1.0, 50 / 350, 0.], [0., 2 / 3, 0.]]))
    res = assigner.assign(approxs, squares, 2, gts, gt_labels=torch.tensor([4, 7]))
    assert res.gt_inds.tolist() == [1, 2, 0] and res.labels.tolist() == [4, 7, -1]
    assert torch.allclose(res.max_overlaps, torch.tensor([1.0, 2 / 3, 0.]))
    # a square inside an ignored region is ignored
    ign = ApproxMaxIoUAssigner(0.5, 0.4, ignore_iof_thr=0.5).assign(approxs, squares, 2, gts,
                                                                    torch.tensor([[48., -2., 70., 12.]]))
    assert ign.gt_inds.tolist() == [1, 2, -1]
    # no gt: every square is background
    assert assigner.assign(approxs, squares, 2, torch.zeros(0, 4)).gt_inds.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match='6 approxs for 3 squares x 3'):
        assigner.approx_overlaps(approxs, squares, 3, gts)


def test_approx_assigner_with_one_approx_is_max_iou_assigner():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(60, 2, generator=g) * 80
    boxes = torch.cat([xy, xy + 5 + torch.rand(60, 2, generator=g) * 30], dim=1)
    gts = boxes[[3, 17, 40]] + torch.randn(3, 4, generator=g) * 3
    for kw in (dict(min_pos_iou=0.0), dict(min_pos_iou=0.3, gt_max_assign_all=False),
               dict(match_low_quality=False, neg_iou_thr=(0.1, 0.4))):
        kw = dict(dict(pos_iou_thr=0.5, neg_iou_thr=0.4), **kw)
        ref = build_assigner(dict(type='MaxIoUAssigner', **kw)).assign(boxes, gts)
        ours = build_assigner(dict(type='ApproxMaxIoUAssigner', **kw)).assign(boxes, boxes, 1, gts)
        assert torch.equal(ours.gt_inds, ref.gt_inds) and torch.allclose(ours.max_overlaps, ref.max_overlaps)


# ------------------------------------------------------------------ SABL head
def _sabl_head(**kw):
    cfg = dict(type='SABLRetinaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
               approx_anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,
                                            ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
               square_anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[4], strides=[8, 16]),
               bbox_coder=dict(type='BucketingBBoxCoder', num_buckets=14, scale_factor=3.0),
               train_cfg=dict(assigner=dict(type='ApproxMaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                            min_pos_iou=0.0, ignore_iof_thr=-1),
                              allowed_border=-1, pos_weight=-1, debug=False),
               test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                             max_per_img=100))
    cfg.update(kw)
    return build_head(cfg)


def test_sabl_priors_and_inside_flags():
    head = _sabl_head(train_cfg=dict(assigner=dict(type='ApproxMaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4),
                                     allowed_border=0, pos_weight=-1))
    sizes = [(4, 4), (2, 2)]
    squares = head.get_anchors(sizes, [_meta(32, 32)], device='cpu')[0]
    # one 32x32 square per location (4 x stride 8), centred on the grid points
    assert squares[0].shape == (16, 4) and torch.equal(squares[0][5], torch.tensor([-8., -8., 24., 24.]))
    approxs, flags = head.get_sampled_approxs(sizes, [_meta(32, 32)], device='cpu')
    assert approxs[0][0].shape == (48, 4)
    # a location is inside when any of its approxs lies in the 32x32 image (+ allowed_border); the approxs
    # centred on (x, y) are 45.25 x 22.63 (ratio 0.5), 32 x 32 and 22.63 x 45.25: with border 0 none fits
    assert not flags[0][0].any() and not flags[0][1].any()
    # border 8: x1 >= -8 and x2 < 40.  32 x 32: x, y in {8, 16}; 45.25 wide: x = 16, y in {8, 16, 24};
    # 45.25 high: y = 16, x in {8, 16, 24}
    head.train_cfg['allowed_border'] = 8
    _, flags = head.get_sampled_approxs(sizes, [_meta(32, 32)], device='cpu')
    rows, cols = flags[0][0].view(4, 4).nonzero(as_tuple=True)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 2)]
    # padded image: locations beyond the valid part of the feature map are out (allowed_border -1)
    head.train_cfg['allowed_border'] = -1
    _, flags = head.get_sampled_approxs(sizes, [_meta(16, 16, pad=(16, 16))], device='cpu')
    assert flags[0][0].view(4, 4)[:2, :2].all() and not flags[0][0].view(4, 4)[2:].any()


def test_sabl_targets():
    """One gt; positives where the best approx IoU >= 0.5 (plus the gt's best square),
    each with its gt's class and the coder's bucket targets of the gt at the square."""
    head = _sabl_head()
    sizes = [(4, 4), (2, 2)]
    meta = _meta(32, 32)
    gt, label = torch.tensor([[2., 4., 30., 26.]]), torch.tensor([2])
    approxs, flags = head.get_sampled_approxs(sizes, [meta], device='cpu')
    squares = head.get_anchors(sizes, [meta], device='cpu')
    targets = head.get_target(approxs, flags, squares, [gt], [meta], gt_labels_list=[label])
    labels, label_weights, cls_t, cls_w, reg_t, reg_w, num_pos, num_neg = targets
    assert labels.shape == (1, 20) and cls_t.shape == (1, 20, 28)

    flat_sq, flat_ap = torch.cat(squares[0]), torch.cat(approxs[0])
    best = bbox_overlaps(flat_ap, gt).view(20, 3).max(dim=1).values
    expected_pos = (best >= 0.5) | (best == best.max())
    pos = labels[0] < 3
    assert torch.equal(pos, expected_pos) and pos.sum() >= 2
    assert (labels[0][pos] == 2).all() and num_pos == int(pos.sum())
    assert torch.equal(label_weights[0], ((best < 0.4) | expected_pos).float())
    enc = head.bbox_coder.encode(flat_sq[pos], gt.expand(int(pos.sum()), 4))
    for t, e in zip((reg_t, reg_w, cls_t, cls_w), enc):
        assert torch.allclose(t[0][pos], e) and (t[0][~pos] == 0).all()


def _orig_sabl_loss(head, cls_scores, bbox_preds, targets):
    """2.10's ``SABLRetinaHead.loss_single`` per level, summed (targets regrouped per level)."""
    labels, label_weights, cls_t, cls_w, reg_t, reg_w, num_pos, _ = targets
    levels = [c.shape[-2] * c.shape[-1] for c in cls_scores]
    per_level = [images_to_levels(list(t), levels) for t in (labels, label_weights, cls_t, cls_w, reg_t, reg_w)]
    side = head.side_num
    out = [0, 0, 0]
    for i, (cls, (bc, br)) in enumerate(zip(cls_scores, bbox_preds)):
        lab, lw, ct, cw, rt, rw = (p[i] for p in per_level)
        cls = cls.permute(0, 2, 3, 1).reshape(-1, head.cls_out_channels)
        out[0] = out[0] + head.loss_cls(cls, lab.reshape(-1), lw.reshape(-1), avg_factor=num_pos)
        bc, br = (b.permute(0, 2, 3, 1).reshape(-1, side * 4) for b in (bc, br))
        out[1] = out[1] + head.loss_bbox_cls(bc, ct.reshape(-1, side * 4).long(), cw.reshape(-1, side * 4),
                                             avg_factor=num_pos * 4 * side)
        out[2] = out[2] + head.loss_bbox_reg(br, rt.reshape(-1, side * 4), rw.reshape(-1, side * 4),
                                             avg_factor=num_pos * 4 * head.bbox_coder.offset_topk)
    return dict(zip(('loss_cls', 'loss_bbox_cls', 'loss_bbox_reg'), out))


def test_sabl_losses_match_the_original_per_level_computation():
    torch.manual_seed(0)
    head = _sabl_head()
    sizes = [(8, 8), (4, 4)]
    cls = [torch.randn(2, 3, h, w) for h, w in sizes]
    preds = [(torch.randn(2, 28, h, w), torch.randn(2, 28, h, w) * 0.5) for h, w in sizes]
    metas = [_meta(64, 64), _meta(56, 60, pad=(64, 64))]
    gts = [torch.tensor([[4., 6., 30., 40.], [20., 10., 60., 60.]]), torch.tensor([[10., 12., 50., 50.]])]
    labels = [torch.tensor([0, 2]), torch.tensor([1])]
    ours = head.loss(cls, preds, gts, labels, metas)
    approxs, flags = head.get_sampled_approxs(sizes, metas, device='cpu')
    targets = head.get_target(approxs, flags, head.get_anchors(sizes, metas, 'cpu'), gts, metas,
                              gt_labels_list=labels)
    assert targets[6] >= 4
    ref = _orig_sabl_loss(head, cls, preds, targets)
    for k in ref:
        assert ours[k].item() == pytest.approx(ref[k].item(), rel=1e-5), k
    # no gt: zero bucket losses, the classifier still trains
    cls_g = [c.clone().requires_grad_() for c in cls]
    empty = head.loss(cls_g, preds, [torch.zeros(0, 4)] * 2, [torch.zeros(0, dtype=torch.long)] * 2, metas)
    assert empty['loss_bbox_cls'].item() == 0 and empty['loss_bbox_reg'].item() == 0 and empty['loss_cls'] > 0
    sum(empty.values()).backward()
    assert cls_g[0].grad.abs().sum() > 0


def test_sabl_decode():
    """One confident location: its box is the coder's decoding at its square, its
    score the class probability times the bucketing confidence."""
    head = _sabl_head()
    cls = [torch.full((1, 3, 4, 4), -10.), torch.full((1, 3, 2, 2), -10.)]
    cls[0][0, 1, 2, 1] = 2.0  # class 1 at the square centred (8, 16)
    g = torch.Generator().manual_seed(0)
    preds = [(torch.randn(1, 28, 4, 4, generator=g) * 3, torch.randn(1, 28, 4, 4, generator=g) * 0.3),
             (torch.randn(1, 28, 2, 2, generator=g), torch.randn(1, 28, 2, 2, generator=g))]
    meta = dict(_meta(32, 32), scale_factor=np.full(4, 2.0, np.float32))
    (dets, det_labels), = head.get_bboxes(cls, preds, [meta], rescale=True)
    assert det_labels.tolist() == [1]
    square = torch.tensor([[-8., 0., 24., 32.]])
    k = 2 * 4 + 1
    box, conf = head.bbox_coder.decode(square, (preds[0][0][0].permute(1, 2, 0).reshape(16, 28)[k:k + 1],
                                                preds[0][1][0].permute(1, 2, 0).reshape(16, 28)[k:k + 1]),
                                       max_shape=(32, 32))
    assert torch.allclose(dets[0, :4], box[0] / 2, atol=1e-5)
    assert dets[0, 4].item() == pytest.approx(_sig(2.0) * conf.item(), rel=1e-5)
    boxes, scores, confids = head.get_bboxes(cls, preds, [meta], with_nms=False)[0]
    assert boxes.shape == (20, 4) and scores.shape == (20, 4) and confids.shape == (20,)


def test_sabl_simple_and_aug_test():
    """Through the head's forward: the same view twice under TTA gives the single-view detections."""
    torch.manual_seed(0)
    head = _sabl_head().eval()
    head.retina_cls.bias.data[:] = 3.0
    feats = [torch.randn(1, 8, 4, 4), torch.randn(1, 8, 2, 2)]
    cls_scores, bbox_preds = head(feats)
    assert [tuple(p[0].shape) for p in bbox_preds] == [(1, 28, 4, 4), (1, 28, 2, 2)]
    (dets, labels), = head.simple_test(feats, [_meta(32, 32)])
    assert len(dets) > 0
    (aug_dets, aug_labels), = head.aug_test([feats, feats], [[_meta(32, 32)], [_meta(32, 32)]])
    assert torch.allclose(aug_dets, dets, atol=1e-5) and torch.equal(aug_labels, labels)


def test_sabl_bad_arguments_are_named():
    with pytest.raises(ValueError, match='octave_base_scale'):
        _sabl_head(square_anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[8], strides=[8, 16]))
    with pytest.raises(ValueError, match='same strides'):
        _sabl_head(square_anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[4], strides=[8, 32]))


# ------------------------------------------------------------------ training
def _tiny(name):
    cfg = load(name).model
    cfg.backbone.update(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False)
    cfg.neck.update(in_channels=[16, 32, 64, 128], out_channels=16)
    cfg.bbox_head.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1)
    return build_detector(cfg)


@pytest.mark.parametrize('name', ['pisa/pisa_retinanet_r50_fpn_1x_coco.py', 'sabl/sabl_retinanet_r50_fpn_1x_coco.py'])
def test_loss_falls_when_overfitting_one_image(name):
    torch.manual_seed(0)
    model = _tiny(name)
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
    base = osp.join(ROOT, 'configs', 'sabl', 'sabl_retinanet_r50_fpn_1x_coco.py')
    cfg = tmp_path / 'sabl_r18_shapes.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {base!r}
        custom_imports = dict(imports={MODULES!r}, allow_failed_imports=False)
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False),
            neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
            bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1),
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
    assert (work / 'epoch_2.pth').is_file() and 'loss_bbox_reg' in log
    ckpt = torch.load(work / 'epoch_2.pth', weights_only=False)
    assert ckpt['state_dict']['bbox_head.retina_bbox_cls.weight'].shape == (28, 32, 3, 3)
    out = py(osp.join(ROOT, 'tools', 'test.py'), cfg, work / 'epoch_2.pth', '--eval', 'bbox')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out
    assert re.search(r"'bbox_mAP': ([0-9.]+)", out)
