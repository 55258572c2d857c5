"""The RetinaNet family of the original repository: ``configs/fsaf`` (FSAFHead,
CenterRegionAssigner, TBLR coder, online feature selection),
``configs/free_anchor`` (FreeAnchorRetinaHead's bag losses) and ``configs/ghm``
(the GHM-C / GHM-R losses on a RetinaHead).

Every config file is the original's bytes and builds with the exact state-dict
layout of the original checkpoint (``tests/data/fidelity/layouts_2x_retina_family.json``);
one training step per distinct model; hand-computed cases of the targets and
losses; a tiny model overfits one image; FSAF and FreeAnchor train with
tools/train.py and evaluate with tools/test.py on generated shapes.
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

import numpy as np
import pytest
import torch
import torch.nn.functional as F

# register the modules (no __init__ import yet needed)
import mmdet.core.bbox.assigners.center_region_assigner  # noqa: F401
import mmdet.models.dense_heads.free_anchor_retina_head  # noqa: F401
import mmdet.models.dense_heads.fsaf_head  # noqa: F401
import mmdet.models.detectors.fsaf  # noqa: F401
import mmdet.models.losses.ghm_loss  # noqa: F401
from mmdet.core.bbox.assigners.center_region_assigner import CenterRegionAssigner
from mmdet.models import build_detector, build_head
from mmdet.models.dense_heads.free_anchor_retina_head import saturated_box_prob
from mmdet.core.bbox.coder.tblr_bbox_coder import TBLRBBoxCoder, bboxes2tblr, tblr2bboxes
from mmdet.models.losses.ghm_loss import GHMC, GHMR, gradient_density_weights
from mmdet.utils import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDERS = ('fsaf', 'free_anchor', 'ghm')
LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_retina_family.json')))
MODULES = ['mmdet.core.bbox.assigners.center_region_assigner', 'mmdet.models.dense_heads.fsaf_head',
           'mmdet.models.dense_heads.free_anchor_retina_head', 'mmdet.models.detectors.fsaf',
           'mmdet.models.losses.ghm_loss']
# sha256 of the original repository's files (hyz-xmaster/VarifocalNet)
ORIGINAL_SHA256 = {
    'free_anchor/README.md': 'b4dff7774729eafc2b5fbb82792854d5c5c3f1c7a3d221c89900bdfb527eb11e',
    'free_anchor/retinanet_free_anchor_r101_fpn_1x_coco.py':
        '5184c8fcf9f40c89b5b2738bc56a35435080dc305987680d3b1ee32cd0ebed4a',
    'free_anchor/retinanet_free_anchor_r50_fpn_1x_coco.py':
        '4abc5bae9edee73bb8138788633e78f3108f8aa25100f64cc8b9ed3a576b7075',
    'free_anchor/retinanet_free_anchor_x101_32x4d_fpn_1x_coco.py':
        'e282329d88a807faf84fc9f5de866a00f3ead608a12f537f35032da986bfafc4',
    'fsaf/README.md': '9e2cb4b751fabb4f81f8130574c3108285e624f383993c8968b06a8c84cf71e0',
    'fsaf/fsaf_r101_fpn_1x_coco.py': '88441f041a59789e715a23f10fdf562c84c43898c5f352b71e1b715219de3a5f',
    'fsaf/fsaf_r50_fpn_1x_coco.py': '723869101f05ba017685c17ac0f0528be61af2ea09cb01641d4bfe9a80ce8859',
    'fsaf/fsaf_x101_64x4d_fpn_1x_coco.py': '2c47568330cf6c059f443079c50a995564eb14456f23c2a468c21ce8504a8118',
    'ghm/README.md': 'adea0ff5d3deed6f6798e2f8c285163e7635c3315c9399074febaf13bdade5ca',
    'ghm/retinanet_ghm_r101_fpn_1x_coco.py': 'c17f95448bf65fb7224d265d1fe97bf5f3d039f245bfac39b1b90dab32ecbec7',
    'ghm/retinanet_ghm_r50_fpn_1x_coco.py': '0651bf70c9b73d27bd84e6581ec0066fda458a4df2ab753f0d879b2ec36e5c10',
    'ghm/retinanet_ghm_x101_32x4d_fpn_1x_coco.py':
        'f69a7d1b778634a2daacda87b5cd4ac351ab38c0c29edc8dee7cc276b9a357f4',
    'ghm/retinanet_ghm_x101_64x4d_fpn_1x_coco.py':
        '4736d46fbfa117542ac6d64e36ffbd1abc8308413f265546fdd82cfce74a669b',
}
CONFIGS = sorted(k for k in ORIGINAL_SHA256 if k.endswith('.py'))
TRAIN_STEP = ['fsaf/fsaf_r50_fpn_1x_coco.py', 'free_anchor/retinanet_free_anchor_r50_fpn_1x_coco.py',
              'ghm/retinanet_ghm_r50_fpn_1x_coco.py']
LOSS_KEYS = {'fsaf': {'loss_cls', 'loss_bbox', 'num_pos', 'pos_recall'},
             'free_anchor': {'positive_bag_loss', 'negative_bag_loss'}, 'ghm': {'loss_cls', 'loss_bbox'}}


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


def total_loss(losses):
    return sum(sum(v) if isinstance(v, (list, tuple)) else v for k, v in losses.items() if 'loss' in k)


# ------------------------------------------------------------------------------------ configs
def test_config_files_are_the_originals():
    shipped = sorted(osp.relpath(p, osp.join(ROOT, 'configs')) for f in FOLDERS
                     for p in glob.glob(osp.join(ROOT, 'configs', f, '*')))
    assert shipped == sorted(ORIGINAL_SHA256)
    for rel, digest in ORIGINAL_SHA256.items():
        with open(osp.join(ROOT, 'configs', rel), 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, rel
    assert CONFIGS == sorted(LAYOUTS)


@pytest.mark.parametrize('name', CONFIGS)
def test_layout_is_the_original_checkpoints(name):
    sd = build_detector(load(name).model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]


def _batch():
    """Two 64x64 images (the second 56x60 inside the pad) with a few boxes."""
    h, w = 64, 64
    metas = [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32),
                  flip=False, flip_direction=None),
             dict(img_shape=(56, 60, 3), pad_shape=(h, w, 3), ori_shape=(56, 60, 3),
                  scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)]
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, h, w, generator=g)
    gt_bboxes = [torch.tensor([[4., 6., 44., 50.], [30., 14., 62., 60.], [2., 36., 20., 55.]]),
                 torch.tensor([[10., 10., 40., 30.]])]
    gt_labels = [torch.tensor([1, 5, 79]), torch.tensor([3])]
    return dict(img=img, img_metas=metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels)


@pytest.mark.parametrize('name', TRAIN_STEP)
def test_training_step_and_inference(name):
    torch.manual_seed(0)
    model = build_detector(load(name).model)
    model.train()
    losses = model(**_batch())
    assert set(losses) == LOSS_KEYS[name.split('/')[0]]
    for k, v in losses.items():
        v = sum(v) if isinstance(v, (list, tuple)) else v
        assert torch.isfinite(v).all(), k
    total = total_loss(losses)
    assert float(total.detach()) > 0
    total.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    model.eval()
    batch = _batch()
    with torch.no_grad():
        results = model.simple_test(batch['img'], batch['img_metas'], rescale=True)
    assert len(results) == 2 and all(len(r) == 80 for r in results)
    assert all(a.shape[1] == 5 for r in results for a in r)


def test_fsaf_head_specifics():
    model = build_detector(load('fsaf/fsaf_r50_fpn_1x_coco.py').model)
    head = model.bbox_head
    assert type(model).__name__ == 'FSAF' and head.num_anchors == 1
    assert isinstance(head.bbox_coder, TBLRBBoxCoder) and head.reg_decoded_bbox
    assert torch.allclose(head.retina_reg.bias, torch.full((4,), 0.25))
    _, reg = head.forward_single(torch.randn(1, 256, 4, 4))
    assert (reg >= 0).all()
    # the GHM buffers are the checkpoint's: 30 / 10 bins
    ghm = build_detector(load('ghm/retinanet_ghm_r50_fpn_1x_coco.py').model).bbox_head
    assert ghm.loss_cls.edges[-1] > 1.0 and ghm.loss_bbox.edges[-1] == 1e3
    assert ghm.loss_cls.acc_sum.shape == (30,) and ghm.loss_bbox.acc_sum.shape == (10,)


# ------------------------------------------------------------------------------------ GHM
def test_ghmc_gradient_density_weights_by_hand():
    """bins=4 (edges 0, .25, .5, .75, 1 + 1e-6); g = |sigmoid(pred) - target|."""
    loss = GHMC(bins=4, momentum=0)
    p = torch.tensor([0.9, 0.8, 0.4, 0.5, 0.3])
    pred = torch.log(p / (1 - p)).view(-1, 1)  # logits of these probabilities
    target = torch.tensor([1., 1., 0., 1., 1.]).view(-1, 1)
    weight = torch.tensor([1., 1., 1., 1., 0.]).view(-1, 1)  # the last one is ignored
    # g = .1, .2 (bin 0), .4 (bin 1), .5 (bin 2: edges are inclusive below), .7 ignored
    g = (pred.sigmoid() - target).abs()
    w = gradient_density_weights(g, weight > 0, loss.edges, tot=4.0)
    # tot = 4 valid, 3 populated bins: weight = 4 / (count * 3)
    assert torch.allclose(w.view(-1), torch.tensor([4 / 6, 4 / 6, 4 / 3, 4 / 3, 0.]))
    bce = F.binary_cross_entropy_with_logits(pred, target, reduction='none').view(-1)
    expected = (bce * torch.tensor([4 / 6, 4 / 6, 4 / 3, 4 / 3, 0.])).sum() / 4
    assert torch.allclose(loss(pred, target, weight), expected)
    # class indices form: labels (N,) with C = background expand to one-hot
    two = torch.zeros(5, 2)
    two[:, 1] = pred.view(-1)
    two[:, 0] = -20.  # class 0 confidently negative: g ~ 0, bin 0
    labels = torch.tensor([1, 1, 2, 1, 1])  # 2 = background: target 0 on class 1
    w2 = weight.view(-1)
    out = GHMC(bins=4)(two, labels, w2)
    # 8 valid elements: bin 0 holds .1, .2 and the four class-0 ones (6), bin 1 one, bin 2 one
    ww = torch.tensor([[8 / 18, 8 / 18], [8 / 18, 8 / 18], [8 / 18, 8 / 3], [8 / 18, 8 / 3], [0., 0.]])
    tgt = torch.tensor([[0., 1.], [0., 1.], [0., 0.], [0., 1.], [0., 1.]])
    exp2 = (F.binary_cross_entropy_with_logits(two, tgt, reduction='none') * ww).sum() / 8
    assert torch.allclose(out, exp2)


def test_ghmc_momentum_accumulates_bin_counts():
    loss = GHMC(bins=4, momentum=0.75)
    pred = torch.logit(torch.tensor([[0.9], [0.8], [0.4]]))
    target = torch.tensor([[1.], [1.], [0.]])
    weight = torch.ones(3, 1)
    loss(pred, target, weight)
    assert torch.allclose(loss.acc_sum, torch.tensor([0.25 * 2, 0.25 * 1, 0., 0.]))
    g = (pred.sigmoid() - target).abs()
    w = gradient_density_weights(g, weight > 0, loss.edges, 3.0, loss.acc_sum.clone(), 0.75)
    # second call: acc = .75 * acc + .25 * count = [.875, .4375]; weight = tot / acc / n
    assert torch.allclose(w.view(-1), torch.tensor([3 / .875 / 2, 3 / .875 / 2, 3 / .4375 / 2]))


def test_ghmr_asl1_and_weights_by_hand():
    mu = 0.02
    loss = GHMR(mu=mu, bins=10, momentum=0, loss_weight=10.0)
    diff = torch.tensor([[0., 0.02, 0.2, -0.2]])
    target = torch.zeros(1, 4)
    # g = |d| / sqrt(d^2 + mu^2) = 0 (bin 0), 0.707 (bin 7), 0.995 (bin 9) twice
    weights = torch.tensor([4 / 3, 4 / 3, 4 / 6, 4 / 6])
    asl1 = torch.sqrt(diff ** 2 + mu ** 2) - mu
    expected = (asl1.view(-1) * weights).sum() / 4 * 10.0
    assert torch.allclose(loss(diff, target, torch.ones(1, 4)), expected)
    # ignored elements count neither in the bins nor in tot
    d2 = torch.tensor([[0., 0.02, 0.2, -0.2], [5., 5., 5., 5.]])
    assert torch.allclose(loss(d2, torch.zeros(2, 4), torch.tensor([[1.] * 4, [0.] * 4])), expected)


# ------------------------------------------------------------------------------------ FSAF
def test_center_region_assigner_by_hand():
    """gt A = [0, 0, 40, 40] (core [16, 16, 24, 24], shadow [10, 10, 30, 30]) and
    the smaller gt B = [10, 10, 30, 30] (core [18, 18, 22, 22], shadow [15, 15, 25, 25])."""
    priors = torch.tensor([[18., 18., 22., 22.],  # both cores: B wins (smaller), A shadows it
                           [14., 14., 18., 18.],  # A's core; overlaps B's shadow
                           [50., 50., 54., 54.],  # far: negative, or ignored by the ignore box
                           [26., 26., 30., 30.]])  # A's shadow only
    gts = torch.tensor([[0., 0., 40., 40.], [10., 10., 30., 30.]])
    assigner = CenterRegionAssigner(pos_scale=0.2, neg_scale=0.5, min_pos_iof=0.01)
    r = assigner.assign(priors, gts, None, torch.tensor([3, 5]))
    assert r.gt_inds.tolist() == [2, 1, 0, 0] and r.labels.tolist() == [5, 3, -1, -1]
    # the shadow pairs first, then the core that lost; (prior, class)
    assert r.get_extra_property('shadowed_labels').tolist() == [[1, 5], [3, 3], [0, 3]]
    # an ignore box (scaled by 0.5 to [50, 50, 54, 54]) ignores the prior centred inside
    r = assigner.assign(priors, gts, torch.tensor([[48., 48., 56., 56.]]), torch.tensor([3, 5]))
    assert r.gt_inds.tolist() == [2, 1, -1, 0]
    # same class: a positive shadowed by its own class becomes a negative ...
    r = assigner.assign(priors, gts, None, torch.tensor([3, 3]))
    assert r.gt_inds.tolist() == [0, 0, 0, 0] and r.labels.tolist() == [-1] * 4
    # ... unless the foreground dominates, which drops those pairs
    r = CenterRegionAssigner(0.2, 0.5, foreground_dominate=True).assign(priors, gts, None, torch.tensor([3, 3]))
    assert r.gt_inds.tolist() == [2, 1, 0, 0] and r.get_extra_property('shadowed_labels').tolist() == [[3, 3]]
    # the FSAF configs' pos_scale = neg_scale: only overlapping cores shadow
    r = CenterRegionAssigner(0.2, 0.2).assign(priors, gts, None, torch.tensor([3, 5]))
    assert r.gt_inds.tolist() == [2, 1, 0, 0] and r.get_extra_property('shadowed_labels').tolist() == [[0, 3]]
    # no gts: every prior negative; no labels: no shadowed labels
    r = assigner.assign(priors, gts[:0], None, torch.zeros(0, dtype=torch.long))
    assert r.gt_inds.tolist() == [0] * 4 and r.get_extra_property('shadowed_labels').shape == (0, 2)
    assert assigner.assign(priors, gts).get_extra_property('shadowed_labels') is None


def test_tblr_coder_round_trip():
    priors = torch.tensor([[0., 0., 8., 8.], [8., 16., 24., 32.]])
    gts = torch.tensor([[-2., 1., 10., 6.], [4., 10., 30., 40.]])
    t = bboxes2tblr(priors, gts, normalizer=4.0)
    # prior 0: centre (4, 4), size 8: top = 3/8/4, bottom = 2/8/4, left = 6/8/4, right = 6/8/4
    assert torch.allclose(t[0], torch.tensor([3., 2., 6., 6.]) / 32)
    assert torch.allclose(tblr2bboxes(priors, t, normalizer=4.0), gts)
    coder = TBLRBBoxCoder(normalizer=4.0)
    assert torch.allclose(coder.decode(priors, coder.encode(priors, gts), max_shape=(35, 28)),
                          torch.tensor([[0., 1., 10., 6.], [4., 10., 28., 35.]]))


def _fsaf_head(num_classes=6, pos_scale=0.2, neg_scale=0.5):
    cfg = load('fsaf/fsaf_r50_fpn_1x_coco.py').model
    head = dict(cfg.bbox_head)
    head.update(num_classes=num_classes, in_channels=8, feat_channels=8, stacked_convs=1,
                train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg)
    head['train_cfg']['assigner'].update(pos_scale=pos_scale, neg_scale=neg_scale)
    return build_head(head)


def test_fsaf_targets_ignore_only_the_shadowed_class():
    head = _fsaf_head()
    priors = torch.tensor([[18., 18., 22., 22.], [14., 14., 18., 18.], [50., 50., 54., 54.], [26., 26., 30., 30.]])
    gts = torch.tensor([[0., 0., 40., 40.], [10., 10., 30., 30.]])
    out = head._get_targets_single(priors, torch.ones(4, dtype=torch.bool), gts, None, torch.tensor([3, 5]),
                                   dict(img_shape=(64, 64, 3)), label_channels=6)
    labels, label_weights, bbox_targets, bbox_weights, pos_inds, neg_inds, _, pos_gt_inds = out
    assert labels.tolist() == [5, 3, 6, 6] and pos_gt_inds.tolist() == [1, 0, -1, -1]
    expected = torch.ones(4, 6)
    expected[0, 3] = expected[1, 5] = expected[3, 3] = 0  # the (prior, class) shadow pairs
    assert torch.equal(label_weights, expected)
    assert torch.equal(bbox_targets[:2], gts[[1, 0]]) and bbox_weights.sum() == 8  # reg_decoded_bbox: gt boxes
    assert pos_inds.tolist() == [0, 1] and neg_inds.tolist() == [2, 3]


def test_fsaf_online_feature_selection_by_hand():
    """Two levels, two gts: each gt is trained at the level of its smallest mean
    (cls summed over classes + reg) loss; elsewhere its positives lose the
    regression and their own class's classification weight."""
    head = _fsaf_head(num_classes=2)
    cls0 = torch.tensor([[0.1, 0.2], [0.3, 0.4], [1.0, 0.5], [0.05, 0.05]])
    reg0 = torch.tensor([0.5, 0.7, 2.0, 0.0])
    inds0, labels0 = torch.tensor([0, 0, 1, -1]), torch.tensor([1, 1, 0, 2])
    cls1 = torch.tensor([[0.2, 0.3], [0.1, 0.1], [0.2, 0.2]])
    reg1 = torch.tensor([1.5, 0.4, 0.0])
    inds1, labels1 = torch.tensor([0, 1, -1]), torch.tensor([1, 0, 2])
    seq = torch.arange(3)  # gt 2 has no positive anywhere
    l0 = head.collect_loss_level_single(cls0, reg0, inds0, seq)
    l1 = head.collect_loss_level_single(cls1, reg1, inds1, seq)
    assert torch.allclose(l0, torch.tensor([(0.8 + 1.4) / 2, 3.5, 1e6]))
    assert torch.allclose(l1, torch.tensor([2.0, 0.6, 1e6]))
    min_levels = torch.stack([l0, l1]).min(dim=0).indices
    assert min_levels[:2].tolist() == [0, 1]
    c0, r0, p0 = head.reweight_loss_single(cls0, reg0, inds0.clone(), labels0, 0, min_levels)
    assert torch.isclose(c0, torch.tensor(0.1 + 0.2 + 0.3 + 0.4 + 0.5 + 0.1)) and torch.isclose(r0, torch.tensor(1.2))
    assert p0.tolist() == [True, True, False, False]
    c1, r1, p1 = head.reweight_loss_single(cls1, reg1, inds1.clone(), labels1, 1, min_levels)
    assert torch.isclose(c1, torch.tensor(0.2 + 0.2 + 0.4)) and torch.isclose(r1, torch.tensor(0.4))
    assert p1.tolist() == [False, True, False]
    # (M, 4) regression losses are summed over the coordinates
    assert torch.allclose(head.collect_loss_level_single(cls0, reg0[:, None].expand(4, 4) / 4, inds0, seq), l0)


def test_fsaf_loss_is_averaged_over_the_selected_positives():
    torch.manual_seed(0)
    head = _fsaf_head(num_classes=3, neg_scale=0.2)
    feats = [torch.randn(1, 8, n, n) for n in (8, 4, 2, 1, 1)]
    metas = [dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3))]
    gts, labels = [torch.tensor([[8., 8., 40., 40.], [30., 30., 60., 58.]])], [torch.tensor([0, 2])]
    losses = head.loss(*head(feats), gts, labels, metas)
    assert set(losses) == {'loss_cls', 'loss_bbox', 'num_pos', 'pos_recall'} and len(losses['loss_cls']) == 5
    assert losses['num_pos'] >= 2 and 0 <= float(losses['pos_recall']) <= 100
    # no gt: every loss is averaged over the negatives and the regression is 0
    empty = head.loss(*head(feats), [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], metas)
    assert float(sum(empty['loss_bbox']).detach()) == 0 and float(empty['num_pos']) == 0
    assert float(sum(empty['loss_cls']).detach()) > 0


# ------------------------------------------------------------------------------------ FreeAnchor
def _free_anchor_head(**kw):
    cfg = dict(load('free_anchor/retinanet_free_anchor_r50_fpn_1x_coco.py').model.bbox_head)
    cfg.update(num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1)
    cfg.update(kw)
    return build_head(cfg)


def test_free_anchor_bag_losses_by_hand():
    head = _free_anchor_head()
    assert (head.pre_anchor_topk, head.bbox_thr, head.gamma, head.alpha) == (50, 0.6, 2.0, 0.5)
    cls = torch.tensor([[0.5, 0.2]])
    box = torch.tensor([[0.8, 0.5]])
    # P = [.4, .1]; weights 1 / (1 - P) = [1/.6, 1/.9] normalised to [.6, .4]; MeanMax = .28
    assert torch.allclose(head.positive_bag_loss(cls, box), torch.tensor([0.5 * -math.log(0.28)]))
    # a bag with one certain anchor: MeanMax -> 1, loss -> 0
    assert head.positive_bag_loss(torch.tensor([[1.0, 0.3]]), torch.tensor([[1.0, 0.9]])) < 1e-5
    neg = head.negative_bag_loss(torch.tensor([[[0.3, 0.6]]]), torch.tensor([[[0.5, 0.0]]]))
    expected = torch.tensor([[[0.15 ** 2 * -math.log(0.85), 0.6 ** 2 * -math.log(0.4)]]]) * 0.5
    assert torch.allclose(neg, expected)


def test_saturated_box_prob_by_hand():
    iou = torch.tensor([[0.5, 0.7, 0.8, 0.65], [0.3, 0.62, 0.2, 0.1], [0.9, 0.1, 0.0, 0.75]])
    labels = torch.tensor([0, 0, 1])
    p = saturated_box_prob(iou, labels, 3, 0.6)
    # gt 0: (iou - .6) / (.8 - .6) clamped; gt 1: t2 = .62; gt 2: t2 = .9
    g0 = torch.tensor([0., 0.5, 1.0, 0.25])
    g1 = torch.tensor([0., 1.0, 0., 0.])
    g2 = torch.tensor([1.0, 0., 0., 0.5])
    assert torch.allclose(p, torch.stack([torch.max(g0, g1), g2, torch.zeros(4)], dim=1))
    # below the threshold everywhere: t2 = t1 + 1e-12, probability 0
    assert saturated_box_prob(torch.tensor([[0.3, 0.5]]), torch.tensor([1]), 2, 0.6).sum() == 0


def test_free_anchor_loss_on_a_tiny_case():
    """One 2x2 level of 16x16 anchors ([0,0,16,16], [16,0,32,16], [0,16,16,32],
    [16,16,32,32]), zero weights: every score is sigmoid(0) = .5 and the
    boxes are the anchors.  gt [0, 0, 24, 16] (class 0), bags of 2 anchors."""
    head = _free_anchor_head(pre_anchor_topk=2, anchor_generator=dict(
        type='AnchorGenerator', octave_base_scale=1, scales_per_octave=1, ratios=[1.0], strides=[16],
        center_offset=0.5))
    for m in head.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
            torch.nn.init.zeros_(m.bias)
    anchors = head.anchor_generator.grid_anchors([(2, 2)], 'cpu')[0]
    assert anchors.tolist() == [[0., 0., 16., 16.], [16., 0., 32., 16.], [0., 16., 16., 32.], [16., 16., 32., 32.]]
    cls_scores, bbox_preds = head([torch.zeros(1, 8, 2, 2)])
    losses = head.loss(cls_scores, bbox_preds, [torch.tensor([[0., 0., 24., 16.]])], [torch.tensor([0])],
                       [dict(img_shape=(32, 32, 3), pad_shape=(32, 32, 3))])

    def smooth_l1(x, beta=0.11):
        return abs(x) - 0.5 * beta if abs(x) >= beta else 0.5 * x * x / beta
    # bag: anchors 0 (IoU 2/3) and 1 (IoU 1/4); targets (dx, dy, dw, dh) / (.1, .1, .2, .2); predictions 0
    dw = math.log(1.5) / 0.2
    p_loc = [math.exp(-0.75 * (smooth_l1(4 / 16 / 0.1) + smooth_l1(dw))),
             math.exp(-0.75 * (smooth_l1(-12 / 16 / 0.1) + smooth_l1(dw)))]
    p = [0.5 * q for q in p_loc]
    w = [1 / (1 - x) for x in p]
    bag = sum(wi * pi for wi, pi in zip(w, p)) / sum(w)
    assert math.isclose(float(losses['positive_bag_loss'].detach()), 0.5 * -math.log(bag), rel_tol=1e-5)
    # P{a in A+}: 1 for anchor 0 at class 0 ((2/3 - .6) / (2/3 - .6)), 0 elsewhere; 7 entries with p = .5
    neg = 7 * 0.5 * 0.5 ** 2 * -math.log(0.5) / (1 * 2)
    assert math.isclose(float(losses['negative_bag_loss'].detach()), neg, rel_tol=1e-5)
    # no gt: the positive loss is a zero that keeps the regression branch in the graph
    empty = head.loss(cls_scores, bbox_preds, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                      [dict(img_shape=(32, 32, 3), pad_shape=(32, 32, 3))])
    assert float(empty['positive_bag_loss'].detach()) == 0 and empty['positive_bag_loss'].requires_grad
    assert math.isclose(float(empty['negative_bag_loss'].detach()), 8 * 0.5 * 0.25 * math.log(2), rel_tol=1e-5)


# ------------------------------------------------------------------------------------ training
def _tiny(name, num_classes=3):
    cfg = load(name)
    cfg.model.backbone.update(depth=18, base_channels=8, frozen_stages=-1, norm_eval=False)
    cfg.model.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    cfg.model.bbox_head.update(num_classes=num_classes, in_channels=16, feat_channels=16, stacked_convs=1)
    return build_detector(cfg.model)


@pytest.mark.parametrize('name', TRAIN_STEP)
def test_loss_falls_on_one_image(name):
    torch.manual_seed(0)
    model = _tiny(name)
    model.train()
    g = torch.Generator().manual_seed(1)
    img = torch.randn(1, 3, 64, 64, generator=g) * 0.3
    img[:, :, 8:40, 10:44] += 1.5  # a bright box on noise
    img[:, 0, 36:60, 40:62] -= 1.5
    batch = dict(img=img, img_metas=[dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3), ori_shape=(64, 64, 3),
                                          scale_factor=np.ones(4, np.float32), flip=False)],
                 gt_bboxes=[torch.tensor([[10., 8., 44., 40.], [40., 36., 62., 60.]])],
                 gt_labels=[torch.tensor([0, 2])])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    history = []
    for _ in range(40):
        loss = total_loss(model(**batch))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10)
        opt.step()
        history.append(float(loss.detach()))
    assert all(math.isfinite(v) for v in history)
    assert np.mean(history[-3:]) < 0.6 * np.mean(history[:3]), history


# ------------------------------------------------------------------------------------ tools
def _user_config(path, base, data_root):
    text = textwrap.dedent(f'''
        _base_ = {osp.join(ROOT, 'configs', base)!r}
        custom_imports = dict(imports={MODULES!r}, allow_failed_imports=False)
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False),
            neck=dict(in_channels=[16, 32, 64, 128], out_channels=16),
            bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1),
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
                 transforms=[
                     dict(type='Resize', keep_ratio=True),
                     dict(type='RandomFlip'),
                     dict(type='Normalize', **img_norm_cfg),
                     dict(type='Pad', size_divisor=32),
                     dict(type='DefaultFormatBundle'),
                     dict(type='Collect', keys=['img']),
                 ])
        ]
        data_root = {data_root + '/'!r}
        data = dict(
            samples_per_gpu=2,
            workers_per_gpu=0,
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
    ''')
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def _run_all(commands):
    """Run the commands at once (subprocesses); fail with the output of any that fails."""
    from tests.conftest import run_env
    env = run_env()
    procs = [subprocess.Popen([sys.executable, *map(str, c)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for c in commands]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for c, p, out in zip(commands, procs, outs):
        assert p.returncode == 0, f'{c} failed ({p.returncode}):\n{out[-3000:]}'
    return outs


def test_fsaf_and_free_anchor_train_and_test_with_the_tools(tmp_path, shapes_data):
    bases = {'fsaf': TRAIN_STEP[0], 'free_anchor': TRAIN_STEP[1]}
    cfgs = {k: _user_config(tmp_path / f'{k}_r18_shapes.py', b, shapes_data) for k, b in bases.items()}
    _run_all([['tools/train.py', cfgs[k], '--work-dir', tmp_path / k, '--seed', 0, '--no-validate'] for k in cfgs])
    for k in cfgs:
        assert (tmp_path / k / 'epoch_1.pth').is_file()
    outs = _run_all([['tools/test.py', cfgs[k], tmp_path / k / 'epoch_1.pth', '--eval', 'bbox'] for k in cfgs])
    for out in outs:
        assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out
        assert re.search(r"'bbox_mAP': [0-9.]+", out), out[-2000:]
