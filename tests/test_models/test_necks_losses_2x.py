"""NAS-FPN (``configs/nas_fpn``), the necks ChannelMapper and BFP (with its
non-local block), and the losses DIoU, CIoU, Bounded IoU, Balanced L1 and MSE.

The two original nas_fpn config files build the original checkpoints' layouts
(``tests/data/fidelity/layouts_2x_nas_fpn.json``: RetinaNet with RetinaSepBNHead
on NAS-FPN, and on a BN FPN), train a step and decode; the losses are checked
on fixed boxes against their formulas written out by hand; the necks' shapes,
cells and arithmetic are checked on small tensors; a tiny NAS-FPN RetinaNet
overfits one image; tools/train.py + tools/test.py run it on generated shapes.
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

import mmdet.models.dense_heads.retina_sepbn_head  # noqa: F401  (registers RetinaSepBNHead)
import mmdet.models.losses.balanced_l1_loss  # noqa: F401  (registers BalancedL1Loss)
import mmdet.models.losses.extra_iou_losses  # noqa: F401  (registers DIoULoss, CIoULoss, BoundedIoULoss)
import mmdet.models.losses.mse_loss  # noqa: F401  (registers MSELoss)
import mmdet.models.necks.bfp  # noqa: F401  (registers BFP)
import mmdet.models.necks.channel_mapper  # noqa: F401  (registers ChannelMapper)
import mmdet.models.necks.nas_fpn  # noqa: F401  (registers NASFPN)
from mmdet.models import build_detector, build_head, build_loss, build_neck
from mmdet.models.losses.balanced_l1_loss import balanced_l1_loss
from mmdet.models.necks.bfp import NonLocal2d
from mmdet.models.necks.nas_fpn import NASFPN_CELLS, GlobalPoolingCell, SumCell, resize_to
from mmdet.utils import Config
from mmdet.utils.errors import InvalidArgumentError
from tests.conftest import ROOT, run_env

LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_nas_fpn.json')))
CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs')) for p in glob.glob(osp.join(ROOT, 'configs', 'nas_fpn',
                                                                                          '*.py')))
CUSTOM_IMPORTS = ['mmdet.models.necks.nas_fpn', 'mmdet.models.dense_heads.retina_sepbn_head']


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


def _total(losses):
    """2.x AnchorHead losses are per-level lists."""
    return sum(sum(v) if isinstance(v, (list, tuple)) else v for v in losses.values())


# ------------------------------------------------------------------ configs and layouts
def test_every_original_config_file_is_shipped():
    assert CONFIGS == sorted(LAYOUTS) and len(CONFIGS) == 2
    assert osp.isfile(osp.join(ROOT, 'configs', 'nas_fpn', 'README.md'))


@pytest.mark.parametrize('name', CONFIGS)
def test_layout_is_the_original_checkpoints(name):
    model = build_detector(load(name).model)
    sd = model.state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]
    head = model.bbox_head
    assert type(head).__name__ == 'RetinaSepBNHead' and head.num_ins == 5
    # conv weights shared across the levels, BN per level
    assert head.cls_convs[4][2].conv is head.cls_convs[0][2].conv
    assert head.reg_convs[3][0].bn is not head.reg_convs[0][0].bn
    # the checkpoint lists the shared tensor at every level; the optimizer sees it once
    assert sd['bbox_head.cls_convs.3.1.conv.weight'].data_ptr() == sd['bbox_head.cls_convs.0.1.conv.weight'].data_ptr()
    assert len(list(model.parameters())) < len([k for k in sd if 'running' not in k and 'num_batches' not in k])


def test_nasfpn_config_builds_seven_stages():
    neck = build_detector(load('nas_fpn/retinanet_r50_nasfpn_crop640_50e_coco.py').model).neck
    assert type(neck).__name__ == 'NASFPN' and len(neck.fpn_stages) == 7
    assert list(neck.fpn_stages[6]) == [c for c, _, _ in NASFPN_CELLS]
    assert not hasattr(neck.fpn_stages[0]['gp_43_5'], 'out_conv')
    assert neck.fpn_stages[0]['sum_44_4'].out_conv.order == ('act', 'conv', 'norm')


@pytest.mark.parametrize('name', CONFIGS)
def test_training_step_and_inference(name):
    """128x128 is the smallest input NAS-FPN takes (P7 = 1x1); two images so BN sees 2 values at P7."""
    torch.manual_seed(0)
    model = build_detector(load(name).model)
    model.train()
    img = torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    gts = [torch.tensor([[5., 8., 40., 50.], [30., 20., 100., 92.]]), torch.tensor([[60., 10., 120., 70.]])]
    losses = model(img=img, img_metas=[_meta(128, 128)] * 2, gt_bboxes=gts,
                   gt_labels=[torch.tensor([2, 79]), torch.tensor([0])])
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    total = _total(losses)
    assert torch.isfinite(total) and total > 0
    total.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    model.eval()
    with torch.no_grad():
        results = model.simple_test(img, [_meta(128, 128)] * 2, rescale=True)
    assert len(results) == 2 and len(results[0]) == 80 and all(r.shape[1] == 5 for r in results[0])


# ------------------------------------------------------------------ IoU-family losses by hand
# pred (0, 0, 4, 2), target (1, 1, 5, 5): overlap [1, 4] x [1, 2] = 3, union 8 + 16 - 3 = 21,
# enclosing box [0, 5] x [0, 5] (diagonal² 50), centres (2, 1) and (3, 3) (distance² 5)
PRED, TARGET = torch.tensor([[0., 0., 4., 2.]]), torch.tensor([[1., 1., 5., 5.]])
IOU, DIST = 3 / 21, 5 / 50


def test_diou_loss_by_hand():
    loss = build_loss(dict(type='DIoULoss', eps=1e-6, loss_weight=2.0))
    assert loss(PRED, TARGET).item() == pytest.approx(2.0 * (1 - IOU + DIST), rel=1e-5)
    # same boxes: 0; concentric boxes: DIoU is 1 - IoU (no distance term)
    assert loss(TARGET, TARGET).item() == pytest.approx(0.0, abs=1e-5)
    inner = torch.tensor([[2., 2., 4., 4.]])  # IoU 4/16
    assert loss(inner, TARGET).item() == pytest.approx(2.0 * 0.75, rel=1e-5)
    # disjoint boxes: 1 + distance² / diagonal²: centres (1, 1) and (11, 1), enclosing 12 x 2
    a, b = torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[10., 0., 12., 2.]])
    assert loss(a, b).item() == pytest.approx(2.0 * (1 + 100 / 148), rel=1e-5)


def test_ciou_loss_by_hand():
    v = 4 / math.pi ** 2 * (math.atan(4 / 4) - math.atan(4 / 2)) ** 2
    expected = 1 - IOU + DIST + v ** 2 / (1 - IOU + v)  # 2.10's form of alpha * v
    loss = build_loss(dict(type='CIoULoss'))
    assert loss(PRED, TARGET).item() == pytest.approx(expected, rel=1e-5)
    # equal aspect ratios: v = 0 and CIoU is DIoU
    shifted = torch.tensor([[2., 2., 6., 6.]])
    assert loss(shifted, TARGET).item() == pytest.approx(
        build_loss(dict(type='DIoULoss'))(shifted, TARGET).item(), rel=1e-6)


def test_bounded_iou_loss_by_hand():
    """Offsets (1, 2) of the centres, sides (4, 2) against (4, 4), eps 1e-3, beta 0.2."""
    eps, beta = 1e-3, 0.2
    dx = 1 - (4 - 2 * 1) / (4 + 2 * 1 + eps)
    dy = 1 - max((4 - 2 * 2) / (4 + 2 * 2 + eps), 0)
    dw = 1 - min(4 / (4 + eps), 4 / (4 + eps))
    dh = 1 - min(4 / (2 + eps), 2 / (4 + eps))

    def smooth(x):
        return 0.5 * x * x / beta if x < beta else x - 0.5 * beta
    per_coord = [smooth(x) for x in (dx, dy, dw, dh)]
    assert dw < beta <= min(dx, dy, dh)  # both pieces are used
    loss = build_loss(dict(type='BoundedIoULoss', beta=beta, eps=eps))
    pred, target = PRED.clone().requires_grad_(), TARGET.clone().requires_grad_()
    elem = loss(pred, target, reduction_override='none')
    assert elem.shape == (1, 4)
    assert elem[0].tolist() == pytest.approx(per_coord, rel=1e-5, abs=1e-9)
    out = loss(pred, target)
    assert out.item() == pytest.approx(sum(per_coord) / 4, rel=1e-5)
    out.backward()
    assert target.grad is None and pred.grad.abs().sum() > 0  # the target is a constant
    # per-coordinate (n, 4) and per-box (n,) weights
    w4 = torch.tensor([[1., 0., 2., 1.]])
    assert loss(PRED, TARGET, weight=w4, avg_factor=2.).item() == pytest.approx(
        (per_coord[0] + 2 * per_coord[2] + per_coord[3]) / 2, rel=1e-5)
    assert loss(PRED, TARGET, weight=torch.tensor([3.]), reduction_override='sum').item() == pytest.approx(
        3 * sum(per_coord), rel=1e-5)
    with pytest.raises(InvalidArgumentError, match='beta'):
        build_loss(dict(type='BoundedIoULoss', beta=0))


def test_iou_family_weights_reductions_and_zero_weights():
    pred = torch.cat([PRED, torch.tensor([[1., 1., 5., 5.]])])
    target = torch.cat([TARGET, torch.tensor([[1., 1., 5., 5.]])])
    d0 = 1 - IOU + DIST
    for type_ in ('DIoULoss', 'CIoULoss'):
        loss = build_loss(dict(type=type_, loss_weight=0.5))
        elem = loss(pred, target, reduction_override='none')
        assert elem.shape == (2,) and elem[1].item() == pytest.approx(0, abs=1e-5)
        w = torch.tensor([2.0, 1.0])
        assert loss(pred, target, weight=w, avg_factor=4.0).item() == pytest.approx(
            0.5 * 2 * elem[0].item() / 0.5 / 4, rel=1e-5)
        assert loss(pred, target, reduction_override='sum').item() == pytest.approx(elem.sum().item(), rel=1e-6)
        # (n, 4) weights are averaged over the coordinates, as 2.x
        assert loss(pred, target, weight=torch.tensor([[1., 1., 0., 0.], [1., 1., 1., 1.]])).item() == \
            pytest.approx(0.5 * (0.5 * elem[0].item() / 0.5 + 0) / 2, rel=1e-5)
        # all-zero weights: 0, still connected to pred
        p = pred.clone().requires_grad_()
        z = loss(p, target, weight=torch.zeros(2))
        assert z.item() == 0
        z.backward()
        assert p.grad is not None
        with pytest.raises(InvalidArgumentError, match='reduction_override'):
            loss(pred, target, reduction_override='avg')
    assert build_loss(dict(type='DIoULoss'))(PRED, TARGET).item() == pytest.approx(d0, rel=1e-5)
    with pytest.raises(InvalidArgumentError, match='reduction'):
        build_loss(dict(type='DIoULoss', reduction='avg'))


# ------------------------------------------------------------------ Balanced L1 and MSE by hand
def _balanced_l1(x, alpha=0.5, gamma=1.5, beta=1.0):
    b = math.exp(gamma / alpha) - 1
    if x < beta:
        return alpha / b * (b * x + 1) * math.log(b * x / beta + 1) - alpha * x
    return gamma * x + gamma / b - alpha * beta


def test_balanced_l1_by_hand_and_at_the_beta_boundary():
    b = math.e ** 3 - 1  # alpha 0.5, gamma 1.5
    pred = torch.tensor([[0.0, 0.5, 1.0, 3.0]])
    target = torch.zeros(1, 4)
    loss = build_loss(dict(type='BalancedL1Loss', alpha=0.5, gamma=1.5, beta=1.0, loss_weight=1.0))
    elem = loss(pred, target, reduction_override='none')
    expected = [0.0, 0.5 / b * (0.5 * b + 1) * math.log(0.5 * b + 1) - 0.25,
                1.5 + 1.5 / b - 0.5,  # |x| = beta is on the linear piece
                4.5 + 1.5 / b - 0.5]
    assert elem[0].tolist() == pytest.approx(expected, rel=1e-5, abs=1e-7)
    # the two pieces meet at beta (value and, for beta = 1, slope gamma)
    below = torch.tensor([1.0 - 1e-4], requires_grad=True)
    at = torch.tensor([1.0], requires_grad=True)
    lo = balanced_l1_loss(below, torch.zeros(1), reduction='sum')
    hi = balanced_l1_loss(at, torch.zeros(1), reduction='sum')
    assert lo.item() == pytest.approx(hi.item() - 1.5e-4, abs=1e-6)
    lo.backward()
    hi.backward()
    assert below.grad.item() == pytest.approx(1.5, rel=1e-3) and at.grad.item() == pytest.approx(1.5)
    # another beta: still continuous; the sign of the error does not matter
    for beta in (0.5, 2.0):
        x = torch.tensor([beta - 1e-5, beta, -beta])
        v = balanced_l1_loss(x, torch.zeros(3), beta=beta, alpha=0.5, gamma=1.5, reduction='none')
        assert v[0].item() == pytest.approx(v[1].item(), abs=1e-4) and v[2].item() == pytest.approx(v[1].item())
        assert v[1].item() == pytest.approx(_balanced_l1(beta, beta=beta), rel=1e-6)
    # weight, avg_factor, loss_weight
    w = torch.tensor([[1., 2., 0., 1.]])
    weighted = build_loss(dict(type='BalancedL1Loss', loss_weight=2.0))(pred, target, weight=w, avg_factor=3.0)
    assert weighted.item() == pytest.approx(2.0 * (2 * expected[1] + expected[3]) / 3.0, rel=1e-5)
    # no elements: a zero loss (2.x asserted)
    empty = torch.zeros(0, 4, requires_grad=True)
    assert loss(empty, torch.zeros(0, 4)).item() == 0
    with pytest.raises(InvalidArgumentError, match='beta'):
        build_loss(dict(type='BalancedL1Loss', beta=0.0))
    with pytest.raises(InvalidArgumentError, match='alpha'):
        build_loss(dict(type='BalancedL1Loss', alpha=-1))
    with pytest.raises(InvalidArgumentError, match='same shape'):
        loss(pred, torch.zeros(1, 3))


def test_mse_loss_by_hand():
    pred, target = torch.tensor([[1.0, -2.0], [0.5, 3.0]]), torch.tensor([[0.0, 0.0], [0.5, 1.0]])
    sq = [1.0, 4.0, 0.0, 4.0]
    loss = build_loss(dict(type='MSELoss', loss_weight=0.5))
    assert loss(pred, target).item() == pytest.approx(0.5 * sum(sq) / 4)
    assert loss(pred, target, reduction_override='sum').item() == pytest.approx(0.5 * 9)
    w = torch.tensor([[1.0, 0.0], [1.0, 2.0]])
    assert loss(pred, target, weight=w, avg_factor=2.0).item() == pytest.approx(0.5 * (1 + 0 + 0 + 8) / 2)
    assert loss(pred, target, reduction_override='none').flatten().tolist() == pytest.approx([0.5 * s for s in sq])


# ------------------------------------------------------------------ NAS-FPN
def _pyramid(channels=(8, 16, 32, 64), size=128, n=1):
    """ResNet-like C2..C5 of a size x size image."""
    g = torch.Generator().manual_seed(0)
    return [torch.randn(n, c, size // 2 ** (i + 2), size // 2 ** (i + 2), generator=g) for i, c in enumerate(channels)]


def test_nasfpn_output_shapes_and_layout():
    neck = build_neck(dict(type='NASFPN', in_channels=[8, 16, 32, 64], out_channels=8, num_outs=5, stack_times=2,
                           start_level=1, add_extra_convs='on_input', norm_cfg=dict(type='BN', requires_grad=True)))
    neck.init_weights()
    outs = neck(_pyramid(n=2))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4), (2, 8, 2, 2), (2, 8, 1, 1)]
    keys = {k.split('.weight')[0] for k in neck.state_dict() if k.endswith('conv.weight')}
    assert keys == ({f'lateral_convs.{i}.conv' for i in range(3)} | {f'extra_downsamples.{i}.0.conv' for i in range(2)}
                    | {f'fpn_stages.{s}.{c}.out_conv.conv' for s in range(2) for c, _, conv in NASFPN_CELLS if conv})
    # 1x1 laterals without bias (BN), 3x3 cell convs with bias before their BN
    assert neck.lateral_convs[0].conv.bias is None and neck.fpn_stages[1]['sum_77_7'].out_conv.conv.bias is not None


def test_nasfpn_without_stages_is_laterals_and_pooled_extra_levels():
    neck = build_neck(dict(type='NASFPN', in_channels=[8, 16, 32, 64], out_channels=4, num_outs=5, stack_times=0,
                           start_level=1))
    feats = _pyramid()
    p3, p4, p5, p6, p7 = neck(feats)
    assert torch.allclose(p5, neck.lateral_convs[2](feats[3]))
    assert torch.allclose(p6, F.max_pool2d(neck.extra_downsamples[0][0](p5), 2, 2))
    assert torch.allclose(p7, F.max_pool2d(neck.extra_downsamples[1][0](p6), 2, 2))


def test_merging_cells_by_hand():
    x1 = torch.arange(16.).reshape(1, 1, 4, 4)
    # down: max-pool by the ratio; up: nearest; same size: unchanged
    assert resize_to(x1, (2, 2)).flatten().tolist() == [5., 7., 13., 15.]
    assert torch.equal(resize_to(x1[..., :2, :2], (4, 4)), x1[..., :2, :2].repeat_interleave(2, 2)
                       .repeat_interleave(2, 3))
    assert resize_to(x1, (4, 4)) is x1
    with pytest.raises(InvalidArgumentError, match='multiple of 128'):
        resize_to(torch.zeros(1, 1, 5, 5), (2, 2))
    # sum: x1 + x2 at the output size
    x2 = torch.ones(1, 1, 2, 2)
    assert SumCell(1, with_out_conv=False)(x1, x2, out_size=(2, 2)).flatten().tolist() == [6., 8., 14., 16.]
    # global pooling: x2 + sigmoid(mean(x2)) * x1, channel by channel
    a = torch.tensor([[[[1., 2.], [3., 4.]], [[0., 0.], [0., 2.]]]])
    b = torch.tensor([[[[0., 0.], [0., 4.]], [[-2., -2.], [-2., -2.]]]])
    s0, s1 = 1 / (1 + math.exp(-1.0)), 1 / (1 + math.exp(2.0))
    out = GlobalPoolingCell(with_out_conv=False)(a, b)
    assert out[0, 0].flatten().tolist() == pytest.approx([s0 * 1, s0 * 2, s0 * 3, 4 + s0 * 4])
    assert out[0, 1].flatten().tolist() == pytest.approx([-2, -2, -2, -2 + s1 * 2])
    # out_conv: ReLU first, then the conv (bias) and the norm
    cell = SumCell(1, norm_cfg=None)
    with torch.no_grad():
        cell.out_conv.conv.weight.zero_()
        cell.out_conv.conv.weight[0, 0, 1, 1] = 2.0
        cell.out_conv.conv.bias.fill_(0.5)
    y = cell(torch.tensor([[[[-3., 1.]]]]), torch.tensor([[[[1., 1.]]]]))
    assert y.flatten().tolist() == [0.5, 4.5]  # relu(-2, 2) * 2 + 0.5
    with pytest.raises(InvalidArgumentError, match='channels'):
        GlobalPoolingCell(with_out_conv=True)


def test_nasfpn_bad_arguments_are_named():
    base = dict(type='NASFPN', in_channels=[8, 16, 32, 64], out_channels=8, num_outs=5, stack_times=1,
                start_level=1)
    with pytest.raises(InvalidArgumentError, match='num_outs must be 5'):
        build_neck(dict(base, num_outs=6))
    with pytest.raises(InvalidArgumentError, match='stack_times'):
        build_neck(dict(base, stack_times=-1))
    with pytest.raises(InvalidArgumentError, match='expects 4 inputs'):
        build_neck(base)(_pyramid()[:3])
    with pytest.raises(InvalidArgumentError, match='multiple of 128'):
        build_neck(base)(_pyramid(size=160))  # P5 5x5 cannot pool to P6 2x2


# ------------------------------------------------------------------ BFP and its non-local block
def test_bfp_gathers_averages_and_scatters_by_hand():
    neck = build_neck(dict(type='BFP', in_channels=2, num_levels=4, refine_level=1))
    sizes = (8, 4, 2, 1)
    values = (1.0, 2.0, 4.0, 9.0)
    inputs = [torch.full((1, 2, s, s), v) for s, v in zip(sizes, values)]
    outs = neck(inputs)
    mean = sum(values) / 4
    for o, s, v in zip(outs, sizes, values):
        assert o.shape == (1, 2, s, s) and torch.allclose(o, torch.full_like(o, v + mean))
    # the levels below refine_level are max-pooled when gathered, those above upsampled (nearest)
    x0 = torch.zeros(1, 1, 4, 4)
    x0[0, 0, 0, 0] = 8.0  # max-pools to 8 at (0, 0) of the 2x2 level
    x2 = torch.tensor([[[[4.0]]]])  # upsampled to all 4
    neck = build_neck(dict(type='BFP', in_channels=1, num_levels=3, refine_level=1))
    o0, o1, o2 = neck([x0, torch.zeros(1, 1, 2, 2), x2])
    bsf = torch.tensor([[8. + 4., 4.], [4., 4.]]) / 3
    assert torch.allclose(o1[0, 0], bsf)
    assert torch.allclose(o0[0, 0], x0[0, 0] + bsf.repeat_interleave(2, 0).repeat_interleave(2, 1))
    assert torch.allclose(o2[0, 0], x2[0, 0] + bsf.max())


@pytest.mark.parametrize('refine_type', [None, 'conv', 'non_local'])
def test_bfp_shapes_and_refine_modules(refine_type):
    neck = build_neck(dict(type='BFP', in_channels=8, num_levels=5, refine_level=2, refine_type=refine_type))
    neck.init_weights()
    feats = [torch.randn(2, 8, 32 // 2 ** i, 40 // 2 ** i) for i in range(5)]
    outs = neck(feats)
    assert [o.shape for o in outs] == [f.shape for f in feats]
    keys = sorted(neck.state_dict())
    expected = {None: [], 'conv': ['refine.conv.bias', 'refine.conv.weight'],
                'non_local': sorted(f'refine.{m}.conv.{p}' for m in ('g', 'theta', 'phi', 'conv_out')
                                    for p in ('weight', 'bias'))}[refine_type]
    assert keys == expected


def test_bfp_non_local_with_norm_starts_as_the_identity():
    """conv_out's norm is zero-initialised (BFP's xavier init only touches convs), so the
    refine step adds nothing at first: BFP 'non_local' == BFP without refinement."""
    norm = dict(type='BN', requires_grad=True)
    neck = build_neck(dict(type='BFP', in_channels=4, num_levels=3, refine_level=1, refine_type='non_local',
                           norm_cfg=norm))
    neck.init_weights()
    assert 'refine.conv_out.bn.weight' in neck.state_dict() and 'refine.conv_out.conv.bias' not in neck.state_dict()
    plain = build_neck(dict(type='BFP', in_channels=4, num_levels=3, refine_level=1))
    feats = [torch.randn(2, 4, 8 // 2 ** i, 8 // 2 ** i) for i in range(3)]
    for a, b in zip(neck(feats), plain(feats)):
        assert torch.allclose(a, b, atol=1e-6)


def test_non_local_block_is_the_formula():
    torch.manual_seed(0)
    block = NonLocal2d(4, reduction=2, use_scale=True)
    for m in (block.g, block.theta, block.phi, block.conv_out):
        torch.nn.init.normal_(m.conv.weight)
        torch.nn.init.normal_(m.conv.bias)
    x = torch.randn(2, 4, 3, 5)

    def conv(m, t):
        return torch.einsum('oc,nchw->nohw', m.conv.weight[:, :, 0, 0], t) + m.conv.bias[None, :, None, None]
    th, ph, g = (conv(m, x).flatten(2) for m in (block.theta, block.phi, block.g))  # (N, 2, 15)
    attn = torch.softmax(torch.einsum('nci,ncj->nij', th, ph) / math.sqrt(2), dim=-1)
    y = torch.einsum('nij,ncj->nci', attn, g).reshape(2, 2, 3, 5)
    assert torch.allclose(block(x), x + conv(block.conv_out, y), atol=1e-5)
    # dot product: theta^T phi / (H W), no softmax
    block.mode = 'dot_product'
    y = (torch.einsum('nci,ncj->nij', th, ph) / 15).matmul(g.transpose(1, 2)).transpose(1, 2).reshape(2, 2, 3, 5)
    assert torch.allclose(block(x), x + conv(block.conv_out, y), atol=1e-4)
    # fresh block: conv_out is zero, so the block is the identity; sub_sample pools g and phi
    fresh = NonLocal2d(4, sub_sample=True)
    assert torch.equal(fresh(x[..., :4]), x[..., :4])
    assert 'g.0.conv.weight' in fresh.state_dict() and 'phi.0.conv.weight' in fresh.state_dict()
    with pytest.raises(InvalidArgumentError, match='mode'):
        NonLocal2d(4, mode='gaussian')


def test_bfp_bad_arguments_are_named():
    with pytest.raises(InvalidArgumentError, match='refine_type'):
        build_neck(dict(type='BFP', in_channels=4, num_levels=3, refine_type='attention'))
    with pytest.raises(InvalidArgumentError, match='refine_level'):
        build_neck(dict(type='BFP', in_channels=4, num_levels=3, refine_level=3))
    with pytest.raises(InvalidArgumentError, match='num_levels=3'):
        build_neck(dict(type='BFP', in_channels=4, num_levels=3))([torch.zeros(1, 4, 2, 2)] * 2)


# ------------------------------------------------------------------ ChannelMapper
def test_channel_mapper_shapes_and_arithmetic():
    mapper = build_neck(dict(type='ChannelMapper', in_channels=[2, 3, 5], out_channels=4))
    mapper.init_weights()
    feats = [torch.randn(1, c, s, s + 1) for c, s in zip([2, 3, 5], [17, 9, 5])]
    outs = mapper(feats)
    assert [tuple(o.shape) for o in outs] == [(1, 4, 17, 18), (1, 4, 9, 10), (1, 4, 5, 6)]
    assert all((o >= 0).all() for o in outs)  # ReLU by default
    assert sorted(mapper.state_dict()) == sorted(f'convs.{i}.conv.{p}' for i in range(3) for p in ('weight', 'bias'))
    # 1x1, no activation: a per-pixel linear map
    lin = build_neck(dict(type='ChannelMapper', in_channels=[2], out_channels=1, kernel_size=1, act_cfg=None))
    with torch.no_grad():
        lin.convs[0].conv.weight.copy_(torch.tensor([[[[2.]], [[-1.]]]]))
        lin.convs[0].conv.bias.fill_(0.5)
    x = torch.tensor([[[[1., 3.]], [[4., -1.]]]])
    assert lin([x])[0].flatten().tolist() == [2 * 1 - 4 + 0.5, 2 * 3 + 1 + 0.5]
    gn = build_neck(dict(type='ChannelMapper', in_channels=[8], out_channels=8,
                         norm_cfg=dict(type='GN', num_groups=2)))
    assert 'convs.0.gn.weight' in gn.state_dict() and 'convs.0.conv.bias' not in gn.state_dict()
    with pytest.raises(InvalidArgumentError, match='expects 3 inputs'):
        mapper(feats[:2])


# ------------------------------------------------------------------ RetinaSepBNHead
def test_sepbn_head_shares_convs_and_keeps_norms_per_level():
    head = build_head(dict(type='RetinaSepBNHead', num_classes=3, num_ins=2, in_channels=4, feat_channels=4,
                           stacked_convs=2, norm_cfg=dict(type='BN', requires_grad=True),
                           anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,
                                                 ratios=[1.0], strides=[8, 16]),
                           loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                           loss_bbox=dict(type='L1Loss', loss_weight=1.0)))
    head.eval()
    with torch.no_grad():
        head.cls_convs[1][0].bn.bias.fill_(3.0)  # level 1's BN only
    x = torch.randn(1, 4, 6, 6)
    cls, reg = head([x, x])
    assert cls[0].shape == (1, 3, 6, 6) and reg[0].shape == (1, 4, 6, 6)
    assert torch.equal(reg[0], reg[1]) and not torch.allclose(cls[0], cls[1])
    with pytest.raises(InvalidArgumentError, match='num_ins=2'):
        head([x])


# ------------------------------------------------------------------ training
def _tiny_nasfpn_retinanet():
    cfg = load('nas_fpn/retinanet_r50_nasfpn_crop640_50e_coco.py').model
    cfg.backbone.update(depth=18, base_channels=8, frozen_stages=-1)
    cfg.neck.update(in_channels=[8, 16, 32, 64], out_channels=16, stack_times=2)
    cfg.bbox_head.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1)
    return build_detector(cfg)


def test_loss_falls_when_overfitting_one_image():
    torch.manual_seed(0)
    model = _tiny_nasfpn_retinanet()
    model.train()
    img = torch.zeros(1, 3, 256, 256)  # 256: P7 is 2x2, so its BN sees more than one value
    img[:, :, 40:160, 32:144] = 2.0
    img[:, 1, 144:240, 120:248] = -2.0
    batch = dict(img=img, img_metas=[_meta(256, 256)], gt_bboxes=[torch.tensor([[32., 40., 144., 160.],
                                                                               [120., 144., 248., 240.]])],
                 gt_labels=[torch.tensor([0, 2])])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    totals = []
    for _ in range(30):
        total = _total(model(**batch))
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    assert all(math.isfinite(t) for t in totals)
    assert np.mean(totals[-5:]) < 0.6 * np.mean(totals[:5]), totals


def test_train_and_test_tools_on_shapes(tmp_path, shapes_data):
    base = osp.join(ROOT, 'configs', 'nas_fpn', 'retinanet_r50_nasfpn_crop640_50e_coco.py')
    cfg = tmp_path / 'retinanet_nasfpn_r18_shapes.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {base!r}
        custom_imports = dict(imports={CUSTOM_IMPORTS!r}, allow_failed_imports=False)
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, base_channels=8, frozen_stages=-1),
            neck=dict(in_channels=[8, 16, 32, 64], out_channels=16, stack_times=2),
            bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1),
            test_cfg=dict(score_thr=0.0001))
        img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(128, 128), ratio_range=(0.8, 1.2), keep_ratio=True),
            dict(type='RandomCrop', crop_size=(128, 128)),
            dict(type='RandomFlip', flip_ratio=0.5),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size=(128, 128)),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
        ]
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(128, 128), flip=False,
                 transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                             dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=128),
                             dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])])
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
        optimizer = dict(lr=0.01)
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
    assert (work / 'epoch_2.pth').is_file() and 'loss_cls' in log
    ckpt = torch.load(work / 'epoch_2.pth', weights_only=False)
    assert 'neck.fpn_stages.1.gp_75_6.out_conv.bn.running_mean' in ckpt['state_dict']
    out = py(osp.join(ROOT, 'tools', 'test.py'), cfg, work / 'epoch_2.pth', '--eval', 'bbox')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out
    assert re.search(r"'bbox_mAP': ([0-9.]+)", out)
