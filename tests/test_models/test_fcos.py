"""FCOS and NAS-FCOS: the original repository's ``configs/fcos`` and
``configs/nas_fcos`` files build the original checkpoints' layouts
(``tests/data/fidelity/layouts_2x_fcos.json``, recorded with the original
code), train a step and decode; FCOS point targets are checked by hand and
against a transcription of 2.10's loop; a tiny model overfits one image; and
``tools/train.py`` + ``tools/test.py --eval bbox`` run an FCOS on the shapes data.
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

import mmdet.models.dense_heads.fcos_head  # noqa: F401 (registers FCOSHead)
import mmdet.models.dense_heads.nasfcos_head  # noqa: F401
import mmdet.models.detectors.fcos  # noqa: F401
import mmdet.models.detectors.nasfcos  # noqa: F401
import mmdet.models.necks.nasfcos_fpn  # noqa: F401
from mmdet.models import build_detector, build_head, build_neck
from mmdet.models.dense_heads.fcos_head import INF, centerness_target, fcos_point_targets
from mmdet.models.necks.nasfcos_fpn import ConcatCell
from mmdet.utils import Config

from tests.conftest import ROOT, run_env

FOLDERS = ('fcos', 'nas_fcos')
LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_fcos.json')))
CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                 for f in FOLDERS for p in glob.glob(osp.join(ROOT, 'configs', f, '*.py')))
CUSTOM_IMPORTS = ['mmdet.models.dense_heads.fcos_head', 'mmdet.models.dense_heads.nasfcos_head',
                  'mmdet.models.detectors.fcos', 'mmdet.models.detectors.nasfcos', 'mmdet.models.necks.nasfcos_fpn']

# one config per distinct model; are checked for layout only
TRAIN_STEP = [
    'fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py',
    'fcos/fcos_center_r50_caffe_fpn_gn-head_1x_coco.py',
    'fcos/fcos_center-normbbox-centeronreg-giou_r50_caffe_fpn_gn-head_1x_coco.py',
    'fcos/fcos_center-normbbox-centeronreg-giou_r50_caffe_fpn_gn-head_dcn_1x_coco.py',
    'nas_fcos/nas_fcos_fcoshead_r50_caffe_fpn_gn-head_4x4_1x_coco.py',
    'nas_fcos/nas_fcos_nashead_r50_caffe_fpn_gn-head_4x4_1x_coco.py',
]


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


# ------------------------------------------------------------------ configs and layouts
def test_every_original_config_file_is_shipped():
    assert CONFIGS == sorted(LAYOUTS) and len(CONFIGS) == 11
    for f in FOLDERS:
        assert osp.isfile(osp.join(ROOT, 'configs', f, 'README.md'))


@pytest.mark.parametrize('name', CONFIGS)
def test_layout_is_the_original_checkpoints(name):
    sd = build_detector(load(name).model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]


def test_tricks_config_sets_the_head_options():
    head = build_detector(load('fcos/fcos_center-normbbox-centeronreg-giou_r50_caffe_fpn_gn-head_dcn_1x_coco.py')
                          .model).bbox_head
    assert head.norm_on_bbox and head.centerness_on_reg and head.center_sampling and head.center_sample_radius == 1.5
    assert type(head.loss_bbox).__name__ == 'GIoULoss' and head.test_cfg['nms']['iou_threshold'] == 0.6
    assert type(head.cls_convs[3].conv).__name__ == 'ModulatedDeformConv2dPack'
    assert head.cls_convs[0].conv.bias is not None  # conv_bias=True with GN


def _batch(h=64, w=64):
    metas = [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32),
                  flip=False, flip_direction=None)]
    g = torch.Generator().manual_seed(0)
    return dict(img=torch.randn(1, 3, h, w, generator=g), img_metas=metas,
                gt_bboxes=[torch.tensor([[5., 6., 40., 50.], [20., 20., 62., 60.]])],
                gt_labels=[torch.tensor([1, 79])])


@pytest.mark.parametrize('name', TRAIN_STEP)
def test_training_step_and_inference(name):
    torch.manual_seed(0)
    model = build_detector(load(name).model)
    model.train()
    losses = model(**_batch())
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_centerness'}
    assert all(torch.isfinite(v) for v in losses.values())
    total = sum(losses.values())
    assert float(total.detach()) > 0
    total.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    model.eval()
    batch = _batch()
    with torch.no_grad():
        results = model.simple_test(batch['img'], batch['img_metas'], rescale=True)
    assert len(results) == 1 and len(results[0]) == 80
    assert all(r.shape[1] == 5 for r in results[0])


# ------------------------------------------------------------------ targets
def test_point_targets_hand_computed():
    """Two levels (stride 8: range (-1, 20]; stride 16: [20, INF]), two gts:
    A = [0, 0, 30, 30] (area 900, label 0), B = [8, 0, 24, 16] (area 256, label 1)."""
    points = [torch.tensor([[4., 4.], [12., 4.], [15., 15.]]), torch.tensor([[8., 8.], [40., 8.], [10., 10.]])]
    ranges, strides = ((-1, 20), (20, INF)), (8, 16)
    gts = torch.tensor([[0., 0., 30., 30.], [8., 0., 24., 16.]])
    labels = torch.tensor([0, 1])
    lab, tgt = fcos_point_targets(points, ranges, strides, gts, labels, num_classes=2)
    tgt_px = tgt
    # (4, 4): A's largest distance 26 > 20, outside B -> background
    # (12, 4): A out of range (26); B (4, 4, 12, 12) -> 1
    # (15, 15): A (15, 15, 15, 15) and B (7, 15, 9, 1) both fit: B is smaller -> 1
    # (8, 8) at stride 16: A (8, 8, 22, 22); on B's left edge (l = 0 is not inside) -> 0
    # (40, 8): outside both -> background
    # (10, 10) at stride 16: A's largest distance is 20, the range's inclusive lower end -> 0;
    #          B (2, 10, 14, 6) is inside but 14 < 20 -> not B
    assert lab.tolist() == [2, 1, 1, 0, 2, 0]
    assert tgt[[1, 2, 3, 5]].tolist() == [[4, 4, 12, 12], [7, 15, 9, 1], [8, 8, 22, 22], [10, 10, 20, 20]]

    # centre sampling, radius 0.5: A's centre region is [11, 11, 19, 19] at stride 8 and [7, 7, 23, 23] at 16;
    # B's is [12, 4, 20, 12] at stride 8
    lab, tgt = fcos_point_targets(points, ranges, strides, gts, labels, 2, center_sampling=True,
                                  center_sample_radius=0.5)
    # (12, 4) lies on B's region's left edge -> background; (15, 15) is only in A's region -> 0
    assert lab.tolist() == [2, 2, 0, 0, 2, 0]
    assert tgt[2].tolist() == [15, 15, 15, 15]
    # radius 1.5 covers the whole boxes here: the same as without centre sampling
    lab15, _ = fcos_point_targets(points, ranges, strides, gts, labels, 2, center_sampling=True)
    assert lab15.tolist() == [2, 1, 1, 0, 2, 0]

    # norm_on_bbox: distances in strides
    _, tgt_n = fcos_point_targets(points, ranges, strides, gts, labels, 2, norm_on_bbox=True)
    assert torch.equal(tgt_n[:3], tgt_px[:3] / 8) and torch.equal(tgt_n[3:], tgt_px[3:] / 16)
    assert tgt_n[2].tolist() == [7 / 8, 15 / 8, 9 / 8, 1 / 8] and tgt_n[3].tolist() == [0.5, 0.5, 22 / 16, 22 / 16]

    # no gts: all background, zero targets
    lab, tgt = fcos_point_targets(points, ranges, strides, gts[:0], labels[:0], 2)
    assert lab.tolist() == [2] * 6 and not tgt.any()


def test_centerness_targets_are_the_formula():
    assert torch.allclose(centerness_target(torch.tensor([[7., 15., 9., 1.]])),
                          torch.tensor([(7 / 9 * 1 / 15) ** 0.5]))
    assert centerness_target(torch.tensor([[5., 3., 5., 3.]])).item() == 1.0
    t = torch.rand(50, 4, generator=torch.Generator().manual_seed(1)) * 40 + 0.5
    l, tp, r, b = t.unbind(1)
    ref = torch.sqrt(torch.minimum(l, r) / torch.maximum(l, r) * torch.minimum(tp, b) / torch.maximum(tp, b))
    assert torch.allclose(centerness_target(t), ref)


def _orig_target_single(gt_bboxes, gt_labels, points, regress_ranges, num_points_per_lvl, strides, num_classes,
                        center_sampling, radius):
    """MMDetection 2.10's FCOSHead._get_target_single, transcribed."""
    num_points, num_gts = points.size(0), gt_labels.size(0)
    areas = ((gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1]))[None].repeat(num_points, 1)
    regress_ranges = regress_ranges[:, None, :].expand(num_points, num_gts, 2)
    gt_bboxes = gt_bboxes[None].expand(num_points, num_gts, 4)
    xs = points[:, 0][:, None].expand(num_points, num_gts)
    ys = points[:, 1][:, None].expand(num_points, num_gts)
    left, right = xs - gt_bboxes[..., 0], gt_bboxes[..., 2] - xs
    top, bottom = ys - gt_bboxes[..., 1], gt_bboxes[..., 3] - ys
    bbox_targets = torch.stack((left, top, right, bottom), -1)
    if center_sampling:
        center_xs = (gt_bboxes[..., 0] + gt_bboxes[..., 2]) / 2
        center_ys = (gt_bboxes[..., 1] + gt_bboxes[..., 3]) / 2
        center_gts = torch.zeros_like(gt_bboxes)
        stride = center_xs.new_zeros(center_xs.shape)
        lvl_begin = 0
        for lvl_idx, num_points_lvl in enumerate(num_points_per_lvl):
            lvl_end = lvl_begin + num_points_lvl
            stride[lvl_begin:lvl_end] = strides[lvl_idx] * radius
            lvl_begin = lvl_end
        x_mins, y_mins = center_xs - stride, center_ys - stride
        x_maxs, y_maxs = center_xs + stride, center_ys + stride
        center_gts[..., 0] = torch.where(x_mins > gt_bboxes[..., 0], x_mins, gt_bboxes[..., 0])
        center_gts[..., 1] = torch.where(y_mins > gt_bboxes[..., 1], y_mins, gt_bboxes[..., 1])
        center_gts[..., 2] = torch.where(x_maxs > gt_bboxes[..., 2], gt_bboxes[..., 2], x_maxs)
        center_gts[..., 3] = torch.where(y_maxs > gt_bboxes[..., 3], gt_bboxes[..., 3], y_maxs)
        center_bbox = torch.stack((xs - center_gts[..., 0], ys - center_gts[..., 1], center_gts[..., 2] - xs,
                                   center_gts[..., 3] - ys), -1)
        inside_gt_bbox_mask = center_bbox.min(-1)[0] > 0
    else:
        inside_gt_bbox_mask = bbox_targets.min(-1)[0] > 0
    max_regress_distance = bbox_targets.max(-1)[0]
    inside_regress_range = ((max_regress_distance >= regress_ranges[..., 0])
                            & (max_regress_distance <= regress_ranges[..., 1]))
    areas[inside_gt_bbox_mask == 0] = INF
    areas[inside_regress_range == 0] = INF
    min_area, min_area_inds = areas.min(dim=1)
    labels = gt_labels[min_area_inds]
    labels[min_area == INF] = num_classes
    return labels, bbox_targets[range(num_points), min_area_inds]


@pytest.mark.parametrize('center_sampling', [False, True])
def test_point_targets_match_the_original(center_sampling):
    head = build_head(dict(type='FCOSHead', num_classes=5, in_channels=8, feat_channels=8, stacked_convs=1,
                           strides=[8, 16, 32], regress_ranges=((-1, 32), (32, 64), (64, INF)),
                           norm_cfg=dict(type='GN', num_groups=4), center_sampling=center_sampling,
                           norm_on_bbox=True))
    points = head.get_points([(16, 20), (8, 10), (4, 5)], torch.float32, 'cpu')
    assert points[1][:3].tolist() == [[8, 8], [24, 8], [40, 8]]  # grid * stride + stride // 2
    g = torch.Generator().manual_seed(0)
    gts, labels = [], []
    for n in (7, 3):
        xy = torch.rand(n, 2, generator=g) * 120
        wh = torch.rand(n, 2, generator=g) * 100 + 4
        gts.append(torch.cat([xy, xy + wh], 1))
        labels.append(torch.randint(0, 5, (n,), generator=g))
    lab, tgt = head.get_targets(points, gts, labels)
    counts = [p.size(0) for p in points]
    ranges = torch.cat([p.new_tensor(r).expand(p.size(0), 2) for r, p in zip(head.regress_ranges, points)])
    ref = [_orig_target_single(b, lbl, torch.cat(points), ranges, counts, head.strides, 5, center_sampling, 1.5)
           for b, lbl in zip(gts, labels)]
    for lvl in range(3):  # 2.x's layout: per level, images concatenated; targets / stride with norm_on_bbox
        ref_lab = torch.cat([r[0].split(counts)[lvl] for r in ref])
        ref_tgt = torch.cat([r[1].split(counts)[lvl] for r in ref]) / head.strides[lvl]
        assert torch.equal(lab[lvl], ref_lab)
        assert torch.allclose(tgt[lvl], ref_tgt)
    assert int((torch.cat(lab) < 5).sum()) > 10


def _tiny_head(**kw):
    cfg = dict(type='FCOSHead', num_classes=4, in_channels=8, feat_channels=8, stacked_convs=2, strides=[8, 16],
               regress_ranges=((-1, 32), (32, INF)), norm_cfg=dict(type='GN', num_groups=4),
               test_cfg=dict(nms_pre=50, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.6), max_per_img=20))
    cfg.update(kw)
    return build_head(cfg)


def test_loss_matches_the_original_formula():
    """2.10's FCOSHead.loss: focal loss over all points / max(num_pos, 1); IoU loss of the decoded
    boxes weighted by the centerness targets / their sum; BCE of the centerness / num_pos."""
    torch.manual_seed(0)
    head = _tiny_head(center_sampling=True)
    feats = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)]
    cls, reg, ctr = head(feats)
    gts = [torch.tensor([[4., 4., 40., 30.], [10., 20., 60., 62.]]), torch.tensor([[0., 0., 20., 20.]])]
    labels = [torch.tensor([0, 3]), torch.tensor([2])]
    losses = head.loss(cls, reg, ctr, gts, labels, [{}, {}])

    points = head.get_points([(8, 8), (4, 4)], torch.float32, 'cpu')
    lab, tgt = (torch.cat(t) for t in head.get_targets(points, gts, labels))
    fc = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, 4) for c in cls])
    fr = torch.cat([r.permute(0, 2, 3, 1).reshape(-1, 4) for r in reg])
    fctr = torch.cat([c.permute(0, 2, 3, 1).reshape(-1) for c in ctr])
    fp = torch.cat([p.repeat(2, 1) for p in points])
    pos = (lab < 4).nonzero().squeeze(1)
    onehot = torch.nn.functional.one_hot(lab, 5)[:, :4].float()
    p = fc.sigmoid()
    pt = p * onehot + (1 - p) * (1 - onehot)
    fl = -(0.25 * onehot + 0.75 * (1 - onehot)) * (1 - pt) ** 2 * torch.log(pt.clamp(min=1e-12))
    assert torch.allclose(losses['loss_cls'], fl.sum() / len(pos), rtol=1e-4)
    t = tgt[pos]
    w = torch.sqrt((torch.minimum(t[:, 0], t[:, 2]) / torch.maximum(t[:, 0], t[:, 2]))
                   * (torch.minimum(t[:, 1], t[:, 3]) / torch.maximum(t[:, 1], t[:, 3])))
    from mmdet.core import bbox_overlaps, distance2bbox
    iou = bbox_overlaps(distance2bbox(fp[pos], fr[pos]), distance2bbox(fp[pos], t), is_aligned=True).clamp(min=1e-6)
    assert torch.allclose(losses['loss_bbox'], (-iou.log() * w).sum() / w.sum(), rtol=1e-4)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(fctr[pos], w, reduction='sum') / len(pos)
    assert torch.allclose(losses['loss_centerness'], bce, rtol=1e-4)


def test_no_positives_gives_zero_box_losses_with_gradients():
    head = _tiny_head()
    cls, reg, ctr = head([torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)])
    losses = head.loss(cls, reg, ctr, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], [{}])
    assert losses['loss_bbox'].item() == 0 and losses['loss_centerness'].item() == 0
    sum(losses.values()).backward()
    assert head.conv_reg.weight.grad is not None and head.conv_cls.weight.grad.abs().sum() > 0


def test_forward_options_and_decoding():
    torch.manual_seed(0)
    feats = [torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)]
    head = _tiny_head(norm_on_bbox=True, centerness_on_reg=True)
    head.train()
    _, reg_train, _ = head(feats)
    head.eval()
    _, reg_eval, _ = head(feats)
    assert (reg_train[0] >= 0).all()  # relu
    assert torch.allclose(reg_eval[0], reg_train[0] * 8) and torch.allclose(reg_eval[1], reg_train[1] * 16)
    plain = _tiny_head()
    assert (plain(feats)[1][0] > 0).all()  # exp
    # centerness on the regression tower: it moves with reg_convs, not with cls_convs
    with torch.no_grad():
        before = head(feats)[2][0].clone()
        head.cls_convs[0].conv.weight.add_(1.0)
        assert torch.equal(head(feats)[2][0], before)
        head.reg_convs[0].conv.weight.add_(1.0)
        assert not torch.equal(head(feats)[2][0], before)

    # decoding: score x centerness for NMS, boxes inside the image, 3-tuple without NMS
    meta = dict(img_shape=(60, 64, 3), scale_factor=np.array([2., 2., 2., 2.], np.float32))
    with torch.no_grad():
        outs = plain(feats)
    dets, labels = plain.get_bboxes(*outs, [meta])[0]
    assert dets.shape[1] == 5 and len(dets) <= 20 and labels.max() < 4
    assert len(plain.get_bboxes(*outs, [meta], with_nms=False)[0][0]) == 50 + 16  # nms_pre=50 per level
    cfg = dict(plain.test_cfg, nms_pre=-1)
    boxes, scores, factors = plain.get_bboxes(*outs, [meta], cfg, with_nms=False)[0]
    assert boxes.shape == (80, 4) and scores.shape == (80, 5) and factors.shape == (80,)
    assert boxes[:, 2].max() <= 64 and boxes[:, 3].max() <= 60
    assert torch.allclose(factors[:64], outs[2][0][0].reshape(-1).sigmoid())
    rescaled = plain.get_bboxes(*outs, [meta], cfg, rescale=True, with_nms=False)[0][0]
    assert torch.allclose(rescaled * 2, boxes)


def test_bad_config_values_name_the_key():
    with pytest.raises(ValueError, match='regress_ranges'):
        _tiny_head(regress_ranges=((-1, 64),))
    head = _tiny_head()
    with pytest.raises(ValueError, match='feature levels'):
        head([torch.randn(1, 8, 4, 4)])


def test_hrnet_fcos_configs_build_the_head():
    """The HRNet FCOS configs (another folder) reuse this head as is: build their bbox_head when present."""
    names = sorted(glob.glob(osp.join(ROOT, 'configs', 'hrnet', 'fcos_hrnetv2p_*.py')))
    if not names:
        pytest.skip('configs/hrnet is not shipped yet')
    for name in names:
        cfg = Config.fromfile(name)
        head = build_head(dict(cfg.model.bbox_head, train_cfg=cfg.model.get('train_cfg'),
                               test_cfg=cfg.model.get('test_cfg')))
        assert type(head).__name__ == 'FCOSHead' and len(head.scales) == cfg.model.neck.num_outs


# ------------------------------------------------------------------ NAS-FCOS
def test_nasfcos_head_tower():
    head = build_head(dict(type='NASFCOSHead', num_classes=3, in_channels=8, feat_channels=8, strides=[8, 16],
                           regress_ranges=((-1, 64), (64, INF)), norm_cfg=dict(type='GN', num_groups=4)))
    kinds = [(type(m.conv).__name__, m.conv.kernel_size, m.conv.bias is not None) for m in head.cls_convs]
    assert kinds == [('ModulatedDeformConv2dPack', (3, 3), True), ('Conv2d', (3, 3), False),
                     ('ModulatedDeformConv2dPack', (3, 3), True), ('Conv2d', (1, 1), False)]
    assert head.cls_convs[0].conv.deform_groups == 2 and head.cls_convs[0].conv.conv_offset.out_channels == 54
    assert torch.equal(head.cls_convs[0].conv.weight, head.reg_convs[0].conv.weight)  # towers start as copies
    cls, reg, ctr = head([torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)])
    assert cls[0].shape == (1, 3, 8, 8) and reg[1].shape == (1, 4, 4, 4) and ctr[0].shape == (1, 1, 8, 8)


def test_nasfcos_fpn_shapes_and_cells():
    neck = build_neck(dict(type='NASFCOS_FPN', in_channels=[8, 16, 32, 64], out_channels=8, start_level=1,
                           add_extra_convs=True, num_outs=5, norm_cfg=dict(type='BN'),
                           conv_cfg=dict(type='DCNv2', deform_groups=2)))
    neck.init_weights()
    inputs = [torch.randn(2, c, 40 // s, 48 // s) for c, s in zip([8, 16, 32, 64], [1, 2, 4, 8])]
    outs = neck(inputs)
    assert [tuple(o.shape[2:]) for o in outs] == [(20, 24), (10, 12), (5, 6), (3, 3), (2, 2)]
    assert all(o.shape[:2] == (2, 8) for o in outs)
    assert isinstance(neck.fpn['c32'].input2_conv, torch.nn.Sequential) and len(neck.fpn['c32'].input2_conv) == 0
    # a cell: input convs, resize to the larger input, concat, BN -> ReLU -> grouped 1x1 conv
    cell = ConcatCell(4, False, False)
    cell.eval()
    a, b = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 3, 3)
    up = torch.nn.functional.interpolate(b, size=(6, 6), mode='nearest')
    oc = cell.out_conv
    ref = oc.conv(torch.relu(oc.bn(torch.cat([a, up], 1))))
    assert torch.allclose(cell(a, b), ref) and oc.conv.weight.shape == (4, 2, 1, 1)
    down = cell(a, b, out_size=(3, 3))  # max-pooled down
    ref = oc.conv(torch.relu(oc.bn(torch.cat([torch.nn.functional.max_pool2d(a, 2), b], 1))))
    assert torch.allclose(down, ref)


# ------------------------------------------------------------------ pretrained names
def test_detectron_caffe_pretrained_names_resolve(tmp_path, monkeypatch):
    """The FCOS configs' ``open-mmlab://detectron/resnet*_caffe`` resolve to mmcv's file names."""
    from mmdet.runner.checkpoint import resolve_pretrained
    d = tmp_path / 'hub' / 'checkpoints'
    d.mkdir(parents=True)
    for f in ('resnet50_caffe-788b5fa3.pth', 'resnet101_caffe-3ad79236.pth'):
        (d / f).write_bytes(b'')
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    assert resolve_pretrained('open-mmlab://detectron/resnet50_caffe').endswith('resnet50_caffe-788b5fa3.pth')
    assert resolve_pretrained('open-mmlab://detectron/resnet101_caffe').endswith('resnet101_caffe-3ad79236.pth')


# ------------------------------------------------------------------ training
def _tiny_fcos_cfg(**head):
    cfg = load('fcos/fcos_center-normbbox-centeronreg-giou_r50_caffe_fpn_gn-head_1x_coco.py').model
    cfg.backbone.update(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False,
                        norm_cfg=dict(type='BN', requires_grad=True))
    cfg.neck.update(in_channels=[16, 32, 64, 128], out_channels=16)
    cfg.bbox_head.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=2,
                         norm_cfg=dict(type='GN', num_groups=4, requires_grad=True), **head)
    return cfg


def test_loss_falls_when_overfitting_one_image():
    torch.manual_seed(0)
    model = build_detector(_tiny_fcos_cfg())
    model.train()
    h = w = 64
    img = torch.zeros(1, 3, h, w)
    img[:, :, 10:40, 8:36] = 1.5
    img[:, 0, 30:60, 36:62] = -1.5
    img = img + 0.1 * torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    metas = [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32))]
    gts, labels = [torch.tensor([[8., 10., 36., 40.], [36., 30., 62., 60.]])], [torch.tensor([0, 2])]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    totals, box_losses = [], []
    for _ in range(40):
        losses = model(img=img, img_metas=[dict(m) for m in metas], gt_bboxes=gts, gt_labels=labels)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(float(total.detach()))
        box_losses.append(float(losses['loss_bbox'].detach()))
    assert np.isfinite(totals).all()
    assert np.mean(totals[-5:]) < 0.6 * np.mean(totals[:3]), totals
    assert np.mean(box_losses[-5:]) < 0.5 * np.mean(box_losses[:3]), box_losses  # the boxes are learnt too


def test_flip_test_time_augmentation():
    cfg = _tiny_fcos_cfg()
    cfg.test_cfg.update(score_thr=0.0)
    torch.manual_seed(0)
    model = build_detector(cfg)
    model.eval()
    img = torch.randn(1, 3, 64, 64)
    base = dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3), ori_shape=(64, 64, 3),
                scale_factor=np.ones(4, np.float32))
    metas = [[dict(base, flip=False, flip_direction=None)], [dict(base, flip=True, flip_direction='horizontal')]]
    with torch.no_grad():
        results = model.forward([img, img.flip(-1)], metas, return_loss=False)
    dets = np.concatenate(results[0])
    assert len(results[0]) == 3 and 0 < len(dets) <= 100
    assert (dets[:, :4] >= 0).all() and (dets[:, [0, 2]] <= 64).all()


TINY_FCOS = """
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False,
                          norm_cfg=dict(type='BN', requires_grad=True)),
            neck=dict(in_channels=[16, 32, 64, 128], out_channels=16),
            bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                           norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)),
            test_cfg=dict(score_thr=0.0001))
"""
TINY_NASFCOS = """
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False,
                          norm_cfg=dict(type='BN', requires_grad=True, eps=1e-5)),  # the config's eps=0 is frozen BN
            neck=dict(in_channels=[16, 32, 64, 128], out_channels=16),
            bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16,
                           norm_cfg=dict(type='GN', num_groups=4)),
            test_cfg=dict(score_thr=0.0001))
"""


@pytest.mark.parametrize('base_name, model_block, head_key', [
    ('fcos/fcos_center-normbbox-centeronreg-giou_r50_caffe_fpn_gn-head_1x_coco.py', TINY_FCOS,
     'bbox_head.conv_centerness'),
    ('nas_fcos/nas_fcos_nashead_r50_caffe_fpn_gn-head_4x4_1x_coco.py', TINY_NASFCOS, 'bbox_head.conv_centerness'),
], ids=['fcos_tricks', 'nas_fcos'])
def test_train_and_test_tools_on_shapes(tmp_path, shapes_data, base_name, model_block, head_key):
    """tools/train.py (2 epochs) then tools/test.py --eval bbox on a tiny FCOS+tricks and a tiny NAS-FCOS."""
    base = osp.join(ROOT, 'configs', base_name)
    cfg = tmp_path / 'tiny_shapes.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {base!r}
        custom_imports = dict(imports={CUSTOM_IMPORTS!r}, allow_failed_imports=False)
        classes = ('ellipse', 'rectangle', 'triangle')
''') + textwrap.dedent(model_block) + textwrap.dedent(f'''
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
        evaluation = dict(interval=2, metric='bbox')
        log_config = dict(interval=1)
    '''))
    work = tmp_path / 'work'

    def py(script, *args):
        out = subprocess.run([sys.executable, osp.join(ROOT, script), *map(str, args)], cwd=ROOT, env=run_env(),
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f'{script} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}'
        return out.stdout + out.stderr

    py('tools/train.py', cfg, '--work-dir', work, '--seed', 0)
    assert (work / 'epoch_2.pth').is_file()
    ckpt = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert any(k.startswith(head_key) for k in ckpt['state_dict'])
    log = py('tools/test.py', cfg, work / 'epoch_2.pth', '--eval', 'bbox')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in log and 'bbox_mAP' in log
