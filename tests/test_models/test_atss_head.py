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


def _spy_avg_factors(module, seen, key):
    def hook(mod, args, kwargs):
        seen[key] = kwargs.get('avg_factor')
    module.register_forward_pre_hook(hook, with_kwargs=True)


@pytest.mark.parametrize('variant', ['focal', 'raw', 'vfl', 'gfl'])
def test_second_image_without_gt_counts_as_one_positive(variant):
    """2.x averages the classification (and centerness) losses over the
    positives counting at least one per image: a batch whose second image has
    no gt divides by (positives of the first) + 1, as the original's ATSS heads."""
    extra = dict(focal={}, raw=dict(type='ATSSRawHead'), vfl=dict(type='ATSSVGFLHead', use_vfl=True),
                 gfl=dict(type='ATSSVGFLHead', use_gfl=True,
                          loss_cls_vgfl=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0)))
    head = build_head(dict(HEAD, **extra[variant]))
    seen = {}
    _spy_avg_factors(head.loss_cls, seen, 'cls')
    _spy_avg_factors(head.loss_bbox, seen, 'bbox')
    if head.use_centerness:
        _spy_avg_factors(head.loss_centerness, seen, 'ctr')
    torch.manual_seed(0)
    x = [torch.randn(2, 16, s, s) for s in (16, 8, 4, 2, 1)]
    metas = [META[0], dict(img_shape=(112, 120, 3), pad_shape=(128, 128, 3), scale_factor=np.ones(4, np.float32))]
    losses = head.loss(*head(x), [GTS[0], torch.zeros((0, 4))], [LABELS[0], torch.zeros((0,), dtype=torch.long)],
                       metas)
    # the positives of the first image alone, with the same features
    alone = build_head(dict(HEAD, **extra[variant]))
    alone.load_state_dict(head.state_dict())
    seen_alone = {}
    _spy_avg_factors(alone.loss_cls, seen_alone, 'cls')
    alone.loss(*alone([f[:1] for f in x]), GTS, LABELS, META)
    num_pos = seen_alone['cls']
    assert num_pos > 1
    assert seen['cls'] == num_pos + 1
    if head.use_centerness:
        assert seen['ctr'] == num_pos + 1
    else:  # without centerness, GIoU is averaged the same way
        assert seen['bbox'] == num_pos + 1
    assert all(torch.isfinite(v) for v in losses.values())


def test_original_config_forms_build_the_same_heads():
    fl = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)
    vgfl = build_head(dict(HEAD, type='ATSSVGFLHead', use_vfl=True, use_gfl=False, loss_cls=fl, loss_cls_vgfl=VFL,
                           dcn_on_last_conv=False))
    ours = build_head(dict(HEAD, loss_cls=VFL))
    assert vgfl.use_vfl and ours.use_vfl and isinstance(vgfl.loss_cls, VarifocalLoss)
    assert vgfl.state_dict().keys() == ours.state_dict().keys()
    raw = build_head(dict(HEAD, type='ATSSRawHead'))
    assert not raw.use_centerness and not hasattr(raw, 'atss_centerness')
