"""The original repository's RetinaNet, FoveaBox and RepPoints config files
(``configs/retinanet``, ``configs/foveabox``, ``configs/reppoints``: the Focal
Loss baselines of the VFL table).

Every file builds a model with exactly the state-dict layout of the original's
checkpoint (``tests/data/fidelity/layouts_2x_dense.json``, recorded with the
original code); one config per head variant runs a training step; the head
variants these configs need beyond the VFNet ones (FoveaBox-align, RepPoints
min-max / partial min-max / grid points) follow the original's code, checked
here against transcriptions of it.
"""
import glob
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from torchvision.ops import deform_conv2d as tv_deform_conv2d

from mmdet.datasets.pipelines import Compose
from mmdet.models import build_detector, build_head
from mmdet.utils import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDERS = ('retinanet', 'foveabox', 'reppoints')
LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_dense.json')))
CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                 for f in FOLDERS for p in glob.glob(osp.join(ROOT, 'configs', f, '*.py')))

# one config per distinct head variant; the R-101 / ResNeXt ones are checked for layout only
TRAIN_STEP = [
    'retinanet/retinanet_r50_fpn_1x_coco.py',
    'foveabox/fovea_r50_fpn_4x4_1x_coco.py',
    'foveabox/fovea_align_r50_fpn_gn-head_4x4_2x_coco.py',
    'reppoints/reppoints_moment_r50_fpn_gn-neck+head_1x_coco.py',
    'reppoints/reppoints_minmax_r50_fpn_gn-neck+head_1x_coco.py',
    'reppoints/reppoints_partial_minmax_r50_fpn_gn-neck+head_1x_coco.py',
    'reppoints/bbox_r50_grid_fpn_gn-neck+head_1x_coco.py',
    'reppoints/bbox_r50_grid_center_fpn_gn-neck+head_1x_coco.py',
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


def test_every_original_config_file_is_shipped():
    assert CONFIGS == sorted(LAYOUTS)
    for f in FOLDERS:
        assert osp.isfile(osp.join(ROOT, 'configs', f, 'README.md'))


@pytest.mark.parametrize('name', CONFIGS)
def test_layout_is_the_original_checkpoints(name):
    sd = build_detector(load(name).model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]


def _batch():
    """Two 128x160 images (the second 120x150 inside the pad) with a few boxes."""
    h, w = 128, 160
    metas = [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32),
                  flip=False, flip_direction=None),
             dict(img_shape=(120, 150, 3), pad_shape=(h, w, 3), ori_shape=(120, 150, 3),
                  scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)]
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, h, w, generator=g)
    gt_bboxes = [torch.tensor([[10., 12., 90., 100.], [60., 30., 150., 120.], [5., 70., 40., 110.]]),
                 torch.tensor([[20., 20., 80., 60.]])]
    gt_labels = [torch.tensor([1, 5, 79]), torch.tensor([3])]
    return dict(img=img, img_metas=metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels)


@pytest.mark.parametrize('name', TRAIN_STEP)
def test_training_step_and_inference(name):
    torch.manual_seed(0)
    model = build_detector(load(name).model)
    model.train()
    losses = model(**_batch())
    assert losses
    total = 0
    for k, v in losses.items():
        v = sum(v) if isinstance(v, (list, tuple)) else v
        assert torch.isfinite(v).all(), k
        total = total + v
    assert float(total.detach()) > 0
    total.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    head = model.bbox_head
    if getattr(head, 'with_deform', False):  # the cls loss trains the offsets of the feature alignment
        assert head.feature_adaption.conv_offset.weight.grad.abs().sum() > 0
    # and the model decodes
    model.eval()
    batch = _batch()
    with torch.no_grad():
        results = model.simple_test(batch['img'], batch['img_metas'], rescale=True)
    assert len(results) == 2 and all(len(r) == 80 for r in results)


@pytest.mark.parametrize('vfl, fl', [
    ('vfl_retinanet_r50_fpn_4x4_1x_coco.py', 'retinanet/retinanet_r50_fpn_1x_coco.py'),
    ('vfl_fovea_r50_fpn_4x4_1x_coco.py', 'foveabox/fovea_r50_fpn_4x4_1x_coco.py'),
    ('vfl_reppoints_moment_r50_fpn_gn-neck+head_4x4_1x_coco.py',
     'reppoints/reppoints_moment_r50_fpn_gn-neck+head_1x_coco.py'),
])
def test_vfl_counterpart_is_the_same_model(vfl, fl):
    """The ``configs/vfnet/vfl_*`` config with ``use_vfl=False`` is the
    original's Focal Loss baseline model."""
    a = json.loads(json.dumps(load(osp.join('vfnet', vfl)).model, default=str))
    b = json.loads(json.dumps(load(fl).model, default=str))
    assert a['bbox_head'].pop('use_vfl') is True
    a['bbox_head'].pop('loss_cls_vfl')
    assert a == b


# ---------------------------------------------------------------- caffe backbones, pipelines
@pytest.mark.parametrize('name', ['retinanet/retinanet_r50_caffe_fpn_1x_coco.py',
                                  'retinanet/retinanet_r101_caffe_fpn_1x_coco.py'])
def test_caffe_style_backbone(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    assert cfg.model.pretrained.startswith('open-mmlab://detectron2/resnet')
    cfg.model.pretrained = None
    model = build_detector(cfg.model)
    model.train()
    bb = model.backbone
    assert bb.layer2[0].conv1.stride == (2, 2) and bb.layer2[0].conv2.stride == (1, 1)  # caffe: stride on 1x1
    assert not any(p.requires_grad for n, p in bb.named_parameters() if 'bn' in n or 'downsample.1' in n)
    assert not bb.layer3[0].bn1.training  # norm_eval


def _image_file(tmp_path, h=100, w=150):
    img = (np.arange(h * w * 3) % 251).astype(np.uint8).reshape(h, w, 3)
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    return dict(img_prefix=str(tmp_path), img_info=dict(filename='a.png', height=h, width=w),
                ann_info=dict(bboxes=np.array([[10., 10., 60., 80.]], np.float32), labels=np.array([2]),
                              bboxes_ignore=np.zeros((0, 4), np.float32)),
                bbox_fields=[])


@pytest.mark.parametrize('name, scales, mean', [
    ('retinanet/retinanet_r50_caffe_fpn_1x_coco.py', [800], [103.530, 116.280, 123.675]),
    ('retinanet/retinanet_r50_caffe_fpn_mstrain_3x_coco.py', [640, 672, 704, 736, 768, 800],
     [103.530, 116.280, 123.675]),
    ('foveabox/fovea_align_r50_fpn_gn-head_mstrain_640-800_4x4_2x_coco.py', [640, 800], [123.675, 116.28, 103.53]),
])
def test_train_pipelines_build_and_run(tmp_path, name, scales, mean):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    train = Compose(cfg.data.train.pipeline)
    Compose(cfg.data.test.pipeline)
    seen = set()
    np.random.seed(0)
    for _ in range(12 if len(scales) > 1 else 1):
        out = train(_image_file(tmp_path))
        meta = getattr(out['img_metas'], 'data', out['img_metas'])
        img = getattr(out['img'], 'data', out['img'])
        h, w = meta['img_shape'][:2]
        assert h in scales and w <= 1333  # 100x150: the short side sets the scale
        seen.add(h)
        assert np.allclose(meta['img_norm_cfg']['mean'], mean)
        assert img.shape[1] % 32 == 0 and img.shape[2] % 32 == 0
    assert len(seen) > 1 or len(scales) == 1


# ------------------------------------------------------- head variants against the original's code
def _orig_gen_grid_from_reg(reg, previous_boxes, k):
    """MMDetection 2.10's RepPointsHead.gen_grid_from_reg, transcribed."""
    b, _, h, w = reg.shape
    bxy = (previous_boxes[:, :2, ...] + previous_boxes[:, 2:, ...]) / 2.
    bwh = (previous_boxes[:, 2:, ...] - previous_boxes[:, :2, ...]).clamp(min=1e-6)
    grid_topleft = bxy + bwh * reg[:, :2, ...] - 0.5 * bwh * torch.exp(reg[:, 2:, ...])
    grid_wh = bwh * torch.exp(reg[:, 2:, ...])
    grid_left, grid_top = grid_topleft[:, [0], ...], grid_topleft[:, [1], ...]
    grid_width, grid_height = grid_wh[:, [0], ...], grid_wh[:, [1], ...]
    intervel = torch.linspace(0., 1., k).view(1, k, 1, 1).type_as(reg)
    grid_x = (grid_left + grid_width * intervel).unsqueeze(1).repeat(1, k, 1, 1, 1).view(b, -1, h, w)
    grid_y = (grid_top + grid_height * intervel).unsqueeze(2).repeat(1, 1, k, 1, 1).view(b, -1, h, w)
    grid_yx = torch.stack([grid_y, grid_x], dim=2).view(b, -1, h, w)
    return grid_yx, torch.cat([grid_left, grid_top, grid_left + grid_width, grid_top + grid_height], 1)


def _reppoints_head(**kw):
    cfg = dict(type='RepPointsHead', num_classes=3, in_channels=8, feat_channels=8, point_feat_channels=8,
               stacked_convs=1, num_points=9, point_strides=[8], point_base_scale=4,
               train_cfg=dict(init=dict(assigner=dict(type='PointAssigner', scale=4, pos_num=1), allowed_border=-1,
                                        pos_weight=-1, debug=False),
                              refine=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                                        min_pos_iou=0, ignore_iof_thr=-1),
                                          allowed_border=-1, pos_weight=-1, debug=False)))
    cfg.update(kw)
    return build_head(cfg)


def test_grid_from_reg_matches_the_original():
    head = _reppoints_head(transform_method='minmax', use_grid_points=True)
    g = torch.Generator().manual_seed(0)
    reg = torch.randn(2, 4, 5, 6, generator=g) * 0.5
    prev = torch.cat([torch.rand(2, 2, 5, 6, generator=g) * -3, torch.rand(2, 2, 5, 6, generator=g) * 3], 1)
    for p in (prev, torch.tensor([-2., -2., 2., 2.]).view(1, 4, 1, 1)):
        grid, box = head.gen_grid_from_reg(reg, p)
        ref_grid, ref_box = _orig_gen_grid_from_reg(reg, p, 3)
        assert torch.allclose(grid, ref_grid, atol=1e-6) and torch.allclose(box, ref_box, atol=1e-6)
        # the grid spans the regressed box: min-max of its points gives that box back
        assert torch.allclose(head.points2bbox(grid), box, atol=1e-5)


def _orig_reppoints_forward(head, x):
    """MMDetection 2.10's RepPointsHead.forward_single, transcribed (on the head's layers)."""
    dcn_base_offset = head.dcn_base_offset.type_as(x)
    if head.use_grid_points or not head.center_init:
        scale = head.point_base_scale / 2
        points_init = dcn_base_offset / dcn_base_offset.max() * scale
        bbox_init = x.new_tensor([-scale, -scale, scale, scale]).view(1, 4, 1, 1)
    else:
        points_init = 0
    cls_feat, pts_feat = x, x
    for c in head.cls_convs:
        cls_feat = c(cls_feat)
    for c in head.reg_convs:
        pts_feat = c(pts_feat)
    pts_out_init = head.reppoints_pts_init_out(head.relu(head.reppoints_pts_init_conv(pts_feat)))
    if head.use_grid_points:
        pts_out_init, bbox_out_init = _orig_gen_grid_from_reg(pts_out_init, bbox_init.detach(), head.dcn_kernel)
    else:
        pts_out_init = pts_out_init + points_init
    grad_mul = (1 - head.gradient_mul) * pts_out_init.detach() + head.gradient_mul * pts_out_init
    dcn_offset = grad_mul - dcn_base_offset
    cls_out = head.reppoints_cls_out(head.relu(tv_deform_conv2d(cls_feat, dcn_offset, head.reppoints_cls_conv.weight,
                                                                padding=(1, 1))))
    pts_out_refine = head.reppoints_pts_refine_out(head.relu(
        tv_deform_conv2d(pts_feat, dcn_offset, head.reppoints_pts_refine_conv.weight, padding=(1, 1))))
    if head.use_grid_points:
        pts_out_refine, _ = _orig_gen_grid_from_reg(pts_out_refine, bbox_out_init.detach(), head.dcn_kernel)
    else:
        pts_out_refine = pts_out_refine + pts_out_init.detach()
    return cls_out, pts_out_init, pts_out_refine


@pytest.mark.parametrize('kw', [dict(transform_method='minmax', use_grid_points=True),
                                dict(transform_method='moment', center_init=False),
                                dict(transform_method='partial_minmax')])
def test_reppoints_forward_matches_the_original(kw):
    torch.manual_seed(0)
    head = _reppoints_head(**kw)
    for m in (head.reppoints_pts_init_out, head.reppoints_pts_refine_out):  # points well away from the centre
        torch.nn.init.normal_(m.weight, std=0.3)
        torch.nn.init.normal_(m.bias, std=0.3)
    x = torch.randn(2, 8, 10, 12)
    ours, ref = head.forward_single(x), _orig_reppoints_forward(head, x)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)
    assert ours[1].shape[1] == 18 and head.reppoints_pts_init_out.out_channels == (4 if kw.get('use_grid_points')
                                                                                    else 18)
    # a loss and its gradients through the points
    gt = [torch.tensor([[8., 8., 60., 50.]]), torch.tensor([[20., 30., 90., 70.]])]
    metas = [dict(img_shape=(80, 96, 3), pad_shape=(80, 96, 3))] * 2
    losses = head.loss([ours[0]], [ours[1]], [ours[2]], gt, [torch.tensor([0]), torch.tensor([2])], metas)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert head.reppoints_pts_init_out.weight.grad.abs().sum() > 0


def test_center_init_false_starts_on_the_base_grid():
    head = _reppoints_head(center_init=False)
    for m in (head.reppoints_pts_init_out, head.reppoints_pts_refine_out):
        torch.nn.init.zeros_(m.weight)
        torch.nn.init.zeros_(m.bias)
    _, init, refine = head.forward_single(torch.randn(1, 8, 4, 5))
    grid = torch.tensor([-2., -2., -2., 0., -2., 2., 0., -2., 0., 0., 0., 2., 2., -2., 2., 0., 2., 2.])
    assert torch.allclose(init[0, :, 1, 2], grid) and torch.allclose(refine, init)


def test_partial_minmax_uses_the_first_four_points():
    head = _reppoints_head(transform_method='partial_minmax')
    yx = torch.tensor([[0., 1.], [2., -1.], [1., 3.], [-1., 0.]] + [[10., -10.]] * 5)  # (y, x) pairs
    box = head.points2bbox(yx.reshape(1, 18, 1, 1))[:, :, 0, 0]
    assert torch.equal(box, torch.tensor([[-1., -1., 3., 2.]]))  # x1, y1, x2, y2 of the first four


def _fovea_head(**kw):
    cfg = dict(type='FoveaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=2, strides=[8],
               base_edge_list=[16], scale_ranges=((1, 64),), sigma=0.4, with_deform=True,
               norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    cfg.update(kw)
    return build_head(cfg)


def test_fovea_align_forward_matches_the_original():
    """2.10's FoveaHead.forward_single with with_deform=True: box branch, then
    relu(deform_conv(x, conv_offset(exp(bbox_pred)))) (4 offset groups), the
    3x3 and 1x1 cls convs and conv_cls."""
    torch.manual_seed(0)
    head = _fovea_head()
    torch.nn.init.normal_(head.feature_adaption.conv_offset.weight, std=1.0)  # offsets of a few pixels
    x = torch.randn(2, 8, 9, 11)
    cls, reg = head.forward_single(x)
    r = x
    for c in head.reg_convs:
        r = c(r)
    ref_reg = head.conv_reg(r)
    fa = head.feature_adaption
    offset = fa.conv_offset(ref_reg.exp())
    assert offset.shape[1] == 4 * 18
    f = torch.relu(tv_deform_conv2d(x, offset, fa.conv_adaption.weight, padding=(1, 1)))
    for c in head.cls_convs:
        f = c(f)
    assert torch.allclose(reg, ref_reg) and torch.allclose(cls, head.conv_cls(f), atol=1e-5)
    assert cls.shape == (2, 3, 9, 11) and head.cls_convs[0].conv.out_channels == 32
    assert head.cls_convs[0].conv.bias is None and head.cls_convs[1].conv.kernel_size == (1, 1)


def test_fovea_align_without_norm_has_biases():
    head = _fovea_head(norm_cfg=None)
    assert head.cls_convs[0].conv.bias is not None and head.cls_convs[1].conv.bias is not None
    assert head.feature_adaption.conv_offset.bias is None and head.feature_adaption.conv_adaption.bias is None
