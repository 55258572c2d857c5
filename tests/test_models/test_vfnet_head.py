import numpy as np
import torch

from mmdet.models.dense_heads.vfnet_head import VFNetHead, star_dcn_offset


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


def test_raw_head_trains_with_focal_loss_like_the_original():
    """The original VFNetRawHead defaults to Focal Loss (``use_vfl=False``) and
    GIoU weight 2.0; the raw seed config keeps those."""
    from mmdet.models import build_detector
    from mmdet.models.losses import FocalLoss
    from mmdet.utils import Config
    cfg = Config.fromfile('configs/vfnet/vfnet_raw_r50_fpn_1x_coco.py')
    assert not cfg.get('swa_training')
    cfg.model.pretrained = None
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    head = build_detector(cfg.model).bbox_head
    assert type(head).__name__ == 'VFNetRawHead' and not head.use_vfl
    assert isinstance(head.loss_cls, FocalLoss) and head.loss_bbox.loss_weight == 2.0
    torch.manual_seed(0)
    feats = [torch.randn(1, 256, s, s) for s in (16, 8, 4, 2, 1)]
    metas = [dict(img_shape=(128, 128, 3), pad_shape=(128, 128, 3))]
    losses = head.loss(*head(feats), [torch.tensor([[10., 10., 90., 100.]])], [torch.tensor([2])], metas)
    assert set(losses) == {'loss_cls', 'loss_bbox'}
