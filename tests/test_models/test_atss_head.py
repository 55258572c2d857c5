import numpy as np
import pytest
import torch

from mmdet.models import build_head
from mmdet.models.losses import FocalLoss, VarifocalLoss

HEAD = dict(type='ATSSHead', num_classes=4, in_channels=16, feat_channels=16, stacked_convs=1,
            norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
            train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1),
            test_cfg=dict(nms_pre=100, score_thr=0.01, nms=dict(type='nms', iou_threshold=0.6), max_per_img=20))
VFL = dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0, iou_weighted=True, loss_weight=1.0)
META = [dict(img_shape=(128, 128, 3), pad_shape=(128, 128, 3), scale_factor=np.ones(4, np.float32))]
GTS, LABELS = [torch.tensor([[10., 12., 70., 60.], [64., 40., 120., 120.]])], [torch.tensor([1, 3])]


def feats():
    torch.manual_seed(0)
    return [torch.randn(1, 16, s, s) for s in (16, 8, 4, 2, 1)]


def test_vfl_config_really_trains_with_iou_targets():
    head = build_head(dict(HEAD, use_vfl=True, loss_cls=VFL))
    assert isinstance(head.loss_cls, VarifocalLoss)
    seen = {}
    real = head.loss_cls.forward

    def spy(pred, target, *a, **k):
        seen['target'] = target
        return real(pred, target, *a, **k)
    head.loss_cls.forward = spy
    losses = head.loss(*head(feats()), GTS, LABELS, META)
    t = seen['target']
    assert t.shape[1] == 4 and t.dtype.is_floating_point
    pos = t > 0
    assert pos.any() and (t[pos] <= 1).all() and (t[pos] < 1).any()  # IoUs, not one-hot labels
    assert set(pos.nonzero()[:, 1].tolist()) <= {1, 3}
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_centerness'}


def test_focal_and_raw_variants():
    head = build_head(dict(HEAD))
    assert isinstance(head.loss_cls, FocalLoss)
    losses = head.loss(*head(feats()), GTS, LABELS, META)
    assert all(torch.isfinite(v) for v in losses.values())
    raw = build_head(dict(HEAD, use_centerness=False, loss_centerness=None))
    outs = raw(feats())
    assert len(outs) == 2 and set(raw.loss(*outs, GTS, LABELS, META)) == {'loss_cls', 'loss_bbox'}
    (dets, labels), = raw.simple_test(feats(), META)
    assert dets.shape[1] == 5
    with pytest.raises(ValueError, match='use_vfl'):
        build_head(dict(HEAD, use_vfl=True))


def test_centerness_target():
    from mmdet.models.dense_heads.atss_head import ATSSHead
    anchors = torch.tensor([[0., 0., 20., 20.]])  # centre (10, 10)
    gts = torch.tensor([[0., 5., 40., 15.]])  # l 10, r 30, t 5, b 5
    assert ATSSHead.centerness_target(anchors, gts).item() == pytest.approx((10 / 30 * 5 / 5) ** 0.5)
