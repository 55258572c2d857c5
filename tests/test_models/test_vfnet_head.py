import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmdet.models import build_detector
from mmdet.models.dense_heads.vfnet_head import VFNetHead, star_dcn_offset
from mmdet.utils import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED = osp.join(osp.dirname(ROOT), 'shared', 'fidelity')


def small_head(**kw):
    cfg = dict(num_classes=4, in_channels=16, feat_channels=16, stacked_convs=1,
               norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
               train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1),
               test_cfg=dict(nms_pre=100, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=10))
    cfg.update(kw)
    return VFNetHead(**cfg)


def test_star_offsets_sample_the_box_star():
    l, t, r, b, stride = 16., 8., 24., 32., 8
    pred = torch.tensor([l, t, r, b]).view(1, 4, 1, 1).expand(1, 4, 2, 2).clone()
    base = VFNetHead.__new__(VFNetHead)
    grid = np.arange(-1, 2).astype(np.float64)
    base_offset = torch.tensor(np.stack([np.repeat(grid, 3), np.tile(grid, 3)], 1).reshape(-1)).view(1, -1, 1, 1)
    off = star_dcn_offset(pred, 0.1, stride, base_offset)
    assert off.shape == (1, 18, 2, 2)
    pos = (off + base_offset.float())[0, :, 0, 0].view(9, 2)  # sampled (dy, dx) per kernel point
    ys = {-1: -t / stride, 0: 0.0, 1: b / stride}
    xs = {-1: -l / stride, 0: 0.0, 1: r / stride}
    expected = [(ys[ky], xs[kx]) for ky in (-1, 0, 1) for kx in (-1, 0, 1)]
    assert torch.allclose(pos, torch.tensor(expected))
    del base


def test_star_offsets_gradient_is_scaled():
    pred = torch.full((1, 4, 1, 1), 10.0, requires_grad=True)
    base = torch.zeros(1, 18, 1, 1, dtype=torch.float64)
    star_dcn_offset(pred, 0.1, 1, base).sum().backward()
    # channels: -t appears 3x, -l 3x, r 3x, b 3x -> d/dl = -3 * 0.1
    assert torch.allclose(pred.grad.view(-1), torch.tensor([-0.3, -0.3, 0.3, 0.3]))


def test_forward_shapes_loss_and_empty_gt():
    torch.manual_seed(0)
    head = small_head()
    feats = [torch.randn(2, 16, s, s) for s in (16, 8, 4, 2, 1)]
    cls, reg, reg_rf = head(feats)
    assert [c.shape for c in cls] == [(2, 4, s, s) for s in (16, 8, 4, 2, 1)]
    assert all((r > 0).all() for r in reg + reg_rf)  # exp -> positive distances
    metas = [dict(img_shape=(128, 128, 3), pad_shape=(128, 128, 3), scale_factor=np.ones(4, np.float32))] * 2
    gts = [torch.tensor([[10., 10., 60., 50.], [70., 20., 120., 120.]]), torch.zeros(0, 4)]
    labels = [torch.tensor([1, 3]), torch.zeros(0, dtype=torch.long)]
    losses = head.loss(cls, reg, reg_rf, gts, labels, metas)
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_bbox_rf'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    # no ground truth at all: finite, box losses zero, still differentiable
    empty = head.loss(cls, reg, reg_rf, [torch.zeros(0, 4)] * 2, [torch.zeros(0, dtype=torch.long)] * 2, metas)
    assert empty['loss_bbox'].item() == 0 and empty['loss_bbox_rf'].item() == 0
    assert empty['loss_cls'].item() > 0
    sum(empty.values()).backward()
    assert head.vfnet_cls.weight.grad is not None


def test_focal_and_fcos_variants_train():
    torch.manual_seed(0)
    feats = [torch.randn(1, 16, s, s) for s in (16, 8, 4, 2, 1)]
    metas = [dict(img_shape=(128, 128, 3), pad_shape=(128, 128, 3), scale_factor=np.ones(4, np.float32))]
    gts, labels = [torch.tensor([[10., 10., 60., 50.]])], [torch.tensor([2])]
    for kw in (dict(use_vfl=False), dict(use_atss=False, center_sampling=True), dict(bbox_norm_type='stride')):
        head = small_head(**kw)
        losses = head.loss(*head(feats), gts, labels, metas)
        assert all(torch.isfinite(v) for v in losses.values()), kw


def test_simple_test_returns_per_class_arrays():
    torch.manual_seed(0)
    head = small_head()
    feats = [torch.randn(1, 16, s, s) for s in (16, 8, 4, 2, 1)]
    metas = [dict(img_shape=(120, 100, 3), pad_shape=(128, 128, 3), scale_factor=np.full(4, 0.5, np.float32))]
    (dets, labels), = head.simple_test(feats, metas, rescale=True)
    assert dets.shape[1] == 5 and len(dets) <= 10
    assert (dets[:, 2] <= 200 + 1e-3).all() and (dets[:, 3] <= 240 + 1e-3).all()  # clamped, then rescaled


def _layout_cases():
    if not osp.isfile(osp.join(SHARED, 'layouts.json')):
        return []
    names = json.load(open(osp.join(SHARED, 'layouts.json')))
    have = {osp.basename(p) for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)}
    return sorted(n for n in names if n in have)


@pytest.mark.parametrize('name', _layout_cases())
def test_state_dict_layout_matches_original(name):
    layout = json.load(open(osp.join(SHARED, 'layouts.json')))[name]
    path = glob.glob(osp.join(ROOT, 'configs', '**', name), recursive=True)[0]
    cfg = Config.fromfile(path)
    cfg.model.pretrained = None
    sd = build_detector(cfg.model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == layout


@pytest.mark.skipif(not osp.isdir(osp.join(SHARED, 'cases')), reason='shared/fidelity is not beside the checkout')
def test_fidelity_cases_against_original():
    cases = sorted(glob.glob(osp.join(SHARED, 'cases', '*.npz')))
    out = subprocess.run([sys.executable, osp.join(SHARED, 'check.py'), *cases], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
