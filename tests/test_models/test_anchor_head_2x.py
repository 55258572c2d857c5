"""MMDetection 2.x's dense-head bases: ``AnchorHead``, ``AnchorFreeHead`` and
``BaseDenseHead`` at their 2.x import paths with the 2.x API, a user head
written as for 2.x trained inside a detector, and ``RetinaHead`` (now an
``AnchorHead``) against numbers recorded from its implementation before it
became one."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn

import mmdet  # noqa: F401  (serves ``mmcv`` when no real mmcv is installed)
from mmcv.cnn import ConvModule, bias_init_with_prob, normal_init
from mmdet.models import build_detector, build_head
from mmdet.models.builder import HEADS
from mmdet.models.dense_heads import AnchorFreeHead, AnchorHead, BaseDenseHead, RetinaHead
from mmdet.models.dense_heads.anchor_free_head import AnchorFreeHead as AnchorFreeHeadAtPath
from mmdet.models.dense_heads.anchor_head import AnchorHead as AnchorHeadAtPath
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead as BaseDenseHeadAtPath

TRAIN = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                           ignore_iof_thr=0.5),
             allowed_border=-1, pos_weight=-1, debug=False)
TEST = dict(nms_pre=1000, min_bbox_size=0, score_thr=0.005, nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100)
METAS = [dict(img_shape=(256, 320, 3), pad_shape=(256, 320, 3), scale_factor=np.full(4, 0.5, np.float32)),
         dict(img_shape=(240, 300, 3), pad_shape=(256, 320, 3), scale_factor=np.full(4, 0.5, np.float32))]
GT = [torch.tensor([[10, 20, 120, 200], [150, 30, 300, 140], [60, 60, 90, 100.]]),
      torch.tensor([[5, 5, 250, 230], [100, 120, 160, 170.]])]
LABELS = [torch.tensor([3, 7, 3]), torch.tensor([0, 9])]
LABELS_3 = [torch.tensor([0, 1, 2]), torch.tensor([2, 1])]  # for three-class heads
SIZES = [(32, 40), (16, 20), (8, 10), (4, 5), (2, 3)]  # a 256x320 batch at strides 8..128
NO_BOXES, NO_LABELS = torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)
CASES = dict(full=(GT, LABELS, None),
             empty=([GT[0], NO_BOXES], [LABELS[0], NO_LABELS], None),
             ignore=(GT, LABELS, [torch.tensor([[200, 150, 260, 220.]]), NO_BOXES]),
             allempty=([NO_BOXES] * 2, [NO_LABELS] * 2, None))
GIOU = dict(reg_decoded_bbox=True, loss_bbox=dict(type='GIoULoss', loss_weight=2.0))
VARIANTS = dict(focal_l1=dict(), vfl=dict(use_vfl=True), giou_decoded=GIOU,
                border0=dict(train_cfg=dict(TRAIN, allowed_border=0)), vfl_giou=dict(use_vfl=True, **GIOU))

# RetinaHead's summed losses and the gradient norms of its output convs
# (loss_cls, loss_bbox, |d retina_cls.weight|, |d retina_reg.weight|), recorded
# from the implementation before RetinaHead became an AnchorHead (one flat loss
# over all levels)
RECORDED = {
    'focal_l1/full': (1.131144642829895, 0.8079782724380493, 0.09581569582223892, 0.7953041791915894),
    'focal_l1/empty': (1.123050570487976, 0.7769091725349426, 0.13880762457847595, 0.7858868837356567),
    'focal_l1/ignore': (1.131116271018982, 0.8079782724380493, 0.09582172334194183, 0.7953041791915894),
    'focal_l1/allempty': (0.12401658296585083, 0.0, 0.05627401918172836, 0.0),
    'vfl/full': (1.216776967048645, 0.8079782724380493, 0.09482283890247345, 0.7953041791915894),
    'vfl/empty': (1.2227342128753662, 0.7769091725349426, 0.13900887966156006, 0.7858868837356567),
    'vfl/ignore': (1.2167484760284424, 0.8079782724380493, 0.09482879191637039, 0.7953041791915894),
    'vfl/allempty': (0.12401658296585083, 0.0, 0.05627401918172836, 0.0),
    'giou_decoded/full': (1.131144642829895, 1.104979395866394, 0.09581569582223892, 0.8862994909286499),
    'giou_decoded/empty': (1.123050570487976, 1.0656142234802246, 0.13880762457847595, 0.9258923530578613),
    'giou_decoded/ignore': (1.131116271018982, 1.104979395866394, 0.09582172334194183, 0.8862994909286499),
    'giou_decoded/allempty': (0.12401658296585083, 0.0, 0.05627401918172836, 0.0),
    'border0/full': (1.132933497428894, 0.7865321040153503, 0.11374322324991226, 0.8361180424690247),
    'border0/empty': (1.1232484579086304, 0.783737063407898, 0.14655277132987976, 0.8751847147941589),
    'border0/ignore': (1.1328920125961304, 0.7865321040153503, 0.11375065892934799, 0.8361180424690247),
    'border0/allempty': (0.07400048524141312, 0.0, 0.037353649735450745, 0.0),
    'vfl_giou/full': (1.216776967048645, 1.104979395866394, 0.09482283890247345, 0.8862994909286499),
    'vfl_giou/empty': (1.2227342128753662, 1.0656142234802246, 0.13900887966156006, 0.9258923530578613),
    'vfl_giou/ignore': (1.2167484760284424, 1.104979395866394, 0.09482879191637039, 0.8862994909286499),
    'vfl_giou/allempty': (0.12401658296585083, 0.0, 0.05627401918172836, 0.0),
}
# get_bboxes(rescale=True) of the same head: per image (score sum, count, coordinate sum)
RECORDED_DETS = [(1.5024223327636719, 100, 119794.8984375), (1.5135362148284912, 100, 117004.5546875)]


def close(a, b, rel=1e-5, abs_=1e-7):
    return abs(a - b) <= abs_ + rel * abs(b)


def recorded_retina_head(**kw):
    """The small RetinaHead and two-image features the numbers above were recorded with."""
    torch.manual_seed(0)
    head = build_head(dict(dict(type='RetinaHead', num_classes=10, in_channels=8, feat_channels=16, stacked_convs=2,
                                train_cfg=TRAIN, test_cfg=TEST), **kw))
    with torch.no_grad():
        for p in head.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    feats = [torch.randn(2, 8, h, w) for h, w in SIZES]
    return head, feats


def total(v):
    return sum(v) if isinstance(v, (list, tuple)) else v


# ---------------------------------------------------------------- the 2.x API
def test_2x_import_paths_and_registry():
    assert AnchorHeadAtPath is AnchorHead and AnchorFreeHeadAtPath is AnchorFreeHead
    assert BaseDenseHeadAtPath is BaseDenseHead
    assert HEADS.get('AnchorHead') is AnchorHead and HEADS.get('AnchorFreeHead') is AnchorFreeHead
    assert issubclass(RetinaHead, AnchorHead) and issubclass(AnchorHead, BaseDenseHead)
    assert issubclass(AnchorFreeHead, BaseDenseHead)

    class NoLoss(BaseDenseHead):
        def get_bboxes(self, *args, **kwargs):
            return []

    with pytest.raises(TypeError):  # loss and get_bboxes are abstract, as in 2.x
        NoLoss()
    with pytest.raises(TypeError):  # so are AnchorFreeHead's loss, get_bboxes and get_targets
        AnchorFreeHead(3, 8)


def test_anchor_head_2x_defaults_and_attributes():
    head = AnchorHead(num_classes=4, in_channels=8, train_cfg=dict(TRAIN), test_cfg=TEST)
    assert head.num_anchors == 9 and head.feat_channels == 256  # scales [8, 16, 32] x ratios [0.5, 1, 2]
    assert head.use_sigmoid_cls and head.cls_out_channels == 4  # sigmoid CrossEntropyLoss by default
    assert head.sampling and type(head.sampler).__name__ == 'PseudoSampler'  # no sampler in train_cfg
    assert type(head.assigner).__name__ == 'MaxIoUAssigner'
    assert type(head.bbox_coder).__name__ == 'DeltaXYWHBBoxCoder' and head.reg_decoded_bbox is False
    assert type(head.loss_bbox).__name__ == 'SmoothL1Loss' and head.fp16_enabled is False
    assert head.train_cfg is not None and head.test_cfg is TEST
    assert [s[0] for s in head.anchor_generator.strides] == [4, 8, 16, 32, 64]
    assert head.conv_cls.weight.shape == (36, 8, 1, 1) and head.conv_reg.weight.shape == (36, 8, 1, 1)
    assert set(head.state_dict()) == {'conv_cls.weight', 'conv_cls.bias', 'conv_reg.weight', 'conv_reg.bias'}

    softmax = AnchorHead(4, 8, loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    assert not softmax.use_sigmoid_cls and softmax.cls_out_channels == 5
    assert not hasattr(softmax, 'assigner')  # no train_cfg: a test-only head

    sampled = AnchorHead(4, 8, train_cfg=dict(TRAIN, sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5,
                                                                     neg_pos_ub=-1, add_gt_as_proposals=False)))
    assert sampled.sampling and type(sampled.sampler).__name__ == 'RandomSampler'
    focal = AnchorHead(4, 8, loss_cls=dict(type='FocalLoss', use_sigmoid=True, loss_weight=1.0),
                       train_cfg=dict(TRAIN, sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5)))
    assert not focal.sampling and type(focal.sampler).__name__ == 'PseudoSampler'

    retina, _ = recorded_retina_head()
    assert not retina.sampling and retina.num_anchors == 9 and retina.cls_out_channels == 10
    vfl, _ = recorded_retina_head(use_vfl=True)
    assert vfl.use_vfl and not vfl.sampling and type(vfl.loss_cls).__name__ == 'VarifocalLoss'


def test_get_anchors_shapes():
    head, feats = recorded_retina_head()
    metas = [dict(METAS[0]), dict(METAS[1], pad_shape=(200, 256, 3))]  # the second padded to less
    anchor_list, valid_flag_list = head.get_anchors(SIZES, metas, device='cpu')
    assert len(anchor_list) == len(valid_flag_list) == 2
    for anchors, flags in zip(anchor_list, valid_flag_list):
        assert len(anchors) == len(flags) == 5
        for (h, w), a, f in zip(SIZES, anchors, flags):
            assert a.shape == (h * w * 9, 4) and f.shape == (h * w * 9,) and f.dtype == torch.bool
    assert all(a is b for a, b in zip(anchor_list[0], anchor_list[1]))  # computed once, as 2.x
    assert valid_flag_list[0][0].all()
    flags = valid_flag_list[1][0].view(32, 40, 9)  # stride 8: rows >= 25, columns >= 32 lie in the padding
    assert flags[:25, :32].all() and not flags[25:].any() and not flags[:, 32:].any()
    # the level-0 anchors of cell (0, 0) are the generator's base anchors, centred at the origin
    assert torch.allclose(anchor_list[0][0][:9], head.anchor_generator.base_anchors[0])


def test_get_targets_2x_return_tuple():
    head, feats = recorded_retina_head()
    anchor_list, valid_flag_list = head.get_anchors(SIZES, METAS, device='cpu')
    out = head.get_targets(anchor_list, valid_flag_list, GT, METAS, gt_labels_list=LABELS,
                           label_channels=head.cls_out_channels)
    assert len(out) == 6
    labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, num_pos, num_neg = out
    for (h, w), lb, lw, bt, bw in zip(SIZES, labels_list, label_weights_list, bbox_targets_list, bbox_weights_list):
        n = h * w * 9
        assert lb.shape == (2, n) and lb.dtype == torch.long and lw.shape == (2, n)
        assert bt.shape == (2, n, 4) and bw.shape == (2, n, 4)
    labels = torch.cat(labels_list, 1)
    weights = torch.cat(bbox_weights_list, 1)
    positives = (labels < head.num_classes)
    assert isinstance(num_pos, int) and num_pos == int(positives.sum()) > 0
    assert torch.equal(weights[..., 0] > 0, positives)
    assert set(labels[0][positives[0]].tolist()) <= {3, 7} and set(labels[1][positives[1]].tolist()) <= {0, 9}
    # image 1's area outside img_shape (inside the pad) still counts: allowed_border=-1
    assert num_neg == int((torch.cat(label_weights_list, 1) > 0).sum()) - num_pos

    out = head.get_targets(anchor_list, valid_flag_list, GT, METAS, gt_labels_list=LABELS,
                           return_sampling_results=True)
    assert len(out) == 7 and len(out[6]) == 2 and hasattr(out[6][0], 'pos_inds')
    assert out[4] == num_pos and out[5] == num_neg

    class ExtraTargets(RetinaHead):
        """A 2.x head returning an extra per-anchor target from _get_targets_single."""

        def _get_targets_single(self, flat_anchors, *args, **kwargs):
            res = super()._get_targets_single(flat_anchors, *args, **kwargs)
            return res + (flat_anchors[:, 2] - flat_anchors[:, 0],)

    torch.manual_seed(0)
    extra = ExtraTargets(10, 8, feat_channels=16, stacked_convs=2, train_cfg=TRAIN)
    out = extra.get_targets(anchor_list, valid_flag_list, GT, METAS, gt_labels_list=LABELS)
    assert len(out) == 7 and [t.shape for t in out[6]] == [(2, h * w * 9) for h, w in SIZES]


# --------------------------------------------------------------- RetinaHead
@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_retina_loss_is_per_level_and_sums_to_the_recorded_values(variant):
    head, feats = recorded_retina_head(**VARIANTS[variant])
    cls_scores, bbox_preds = head(feats)
    for case, (gts, labels, ignore) in CASES.items():
        losses = head.loss(cls_scores, bbox_preds, gts, labels, METAS, gt_bboxes_ignore=ignore)
        assert set(losses) == {'loss_cls', 'loss_bbox'}
        for v in losses.values():  # 2.x: one scalar per level
            assert isinstance(v, list) and len(v) == len(SIZES) and all(t.dim() == 0 for t in v)
        head.zero_grad()
        sum(total(v) for v in losses.values()).backward(retain_graph=True)
        got = (float(total(losses['loss_cls']).detach()), float(total(losses['loss_bbox']).detach()),
               float(head.retina_cls.weight.grad.norm()), float(head.retina_reg.weight.grad.norm()))
        want = RECORDED[f'{variant}/{case}']
        assert all(close(g, w) for g, w in zip(got, want)), (case, got, want)


def test_retina_detections_are_the_recorded_ones():
    head, feats = recorded_retina_head()
    with torch.no_grad():
        results = head.get_bboxes(*head(feats), METAS, rescale=True)
    assert len(results) == 2
    for (dets, labels), (score_sum, count, coord_sum) in zip(results, RECORDED_DETS):
        assert dets.shape == (count, 5) and labels.shape == (count,)
        assert close(float(dets[:, 4].sum()), score_sum) and close(float(dets[:, :4].sum()), coord_sum)
    # simple_test (BaseDenseHead -> simple_test_bboxes) is get_bboxes on the forward
    with torch.no_grad():
        simple = head.simple_test(feats, METAS, rescale=True)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(simple, results))
    # without NMS: boxes and scores with the background column last
    with torch.no_grad():
        raw = head.get_bboxes(*head(feats), METAS, cfg=TEST, rescale=False, with_nms=False)
    boxes, scores = raw[0]
    assert boxes.shape[1] == 4 and scores.shape == (boxes.shape[0], 11) and (scores[:, -1] == 0).all()


def test_retina_autocast_loss_runs_in_float32():
    head, feats = recorded_retina_head()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = head.loss(*head(feats), GT, LABELS, METAS)
    assert all(t.dtype == torch.float32 and torch.isfinite(t) for v in losses.values() for t in v)
    assert close(float(total(losses['loss_cls']).detach()), RECORDED['focal_l1/full'][0], rel=0.05)


# ----------------------------------------------------------- sampling (2.x)
def test_sampling_averages_over_sampled_positives_and_negatives():
    sampler = dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False)
    torch.manual_seed(0)
    head = AnchorHead(10, 8, anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                                                   ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
                      train_cfg=dict(TRAIN, sampler=sampler))
    head.init_weights()
    feats = [torch.randn(2, 8, h, w) for h, w in SIZES]
    seen = []
    loss_single = head.loss_single

    def spy(*args, num_total_samples):
        seen.append(num_total_samples)
        return loss_single(*args, num_total_samples=num_total_samples)

    head.loss_single = spy
    losses = head.loss(*head(feats), GT, LABELS, METAS)
    assert len(set(seen)) == 1 and seen[0] <= 2 * 64  # num_pos + num_neg of the sampled anchors
    assert seen[0] > sum(int(g.shape[0]) for g in GT)  # not just the positives
    assert all(torch.isfinite(t) for v in losses.values() for t in v)


class RPNLikeHead(AnchorHead):
    """2.x's RPNHead form: one foreground class and a ``loss`` without gt labels."""

    def loss(self, cls_scores, bbox_preds, gt_bboxes, img_metas, gt_bboxes_ignore=None):
        losses = super().loss(cls_scores, bbox_preds, gt_bboxes, None, img_metas, gt_bboxes_ignore=gt_bboxes_ignore)
        return dict(loss_rpn_cls=losses['loss_cls'], loss_rpn_bbox=losses['loss_bbox'])


def test_rpn_like_forward_train_without_labels_and_with_proposal_cfg():
    """No gt_labels (the foreground is class 0); proposals from proposal_cfg."""
    torch.manual_seed(0)
    head = RPNLikeHead(1, 8, anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                                   strides=[8, 16, 32, 64, 128]),
                       train_cfg=dict(TRAIN, sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5,
                                                          neg_pos_ub=-1, add_gt_as_proposals=False)))
    head.init_weights()
    feats = [torch.randn(2, 8, h, w) for h, w in SIZES]
    losses, proposals = head.forward_train(feats, METAS, GT, None, proposal_cfg=TEST)
    assert set(losses) == {'loss_rpn_cls', 'loss_rpn_bbox'} and len(losses['loss_rpn_cls']) == 5
    assert all(torch.isfinite(t) for v in losses.values() for t in v)
    assert len(proposals) == 2 and proposals[0][0].shape[1] == 5 and (proposals[0][1] == 0).all()
    assert head.forward_train(feats, METAS, GT, None).keys() == losses.keys()  # no proposal_cfg: the losses


def test_softmax_anchor_head_decodes_with_its_background_column():
    torch.manual_seed(0)
    head = AnchorHead(3, 8, loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                      anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[1.0], strides=[8, 16]),
                      train_cfg=TRAIN, test_cfg=dict(TEST, nms_pre=50))
    head.init_weights()
    feats = [torch.randn(2, 8, 8, 10), torch.randn(2, 8, 4, 5)]
    cls_scores, bbox_preds = head(feats)
    assert cls_scores[0].shape == (2, 4, 8, 10) and bbox_preds[1].shape == (2, 4, 4, 5)
    metas = [dict(m, img_shape=(64, 80, 3), pad_shape=(64, 80, 3)) for m in METAS]
    raw = head.get_bboxes(cls_scores, bbox_preds, metas, with_nms=False)
    boxes, scores = raw[0]
    assert boxes.shape == (70, 4) and scores.shape == (70, 4)  # the top 50 of level 0's 80, all 20 of level 1
    assert torch.allclose(scores.sum(1), torch.ones(70))
    assert (boxes[:, 0::2] <= 80).all() and (boxes[:, 1::2] <= 64).all()
    dets, labels = head.get_bboxes(cls_scores, bbox_preds, metas)[1]
    assert dets.shape[1] == 5 and labels.max() < 3
    losses = head.loss(cls_scores, bbox_preds, [g / 4 for g in GT], LABELS_3, metas)
    assert all(torch.isfinite(t) for v in losses.values() for t in v)


# ------------------------------------------------ a user's 2.x AnchorHead
@HEADS.register_module()
class Tutorial2xAnchorHead(AnchorHead):
    """A head as a 2.x user writes one: attributes set before ``super().__init__``,
    ``_init_layers`` / ``init_weights`` / ``forward_single`` overridden, the
    layers from ``mmcv.cnn``; targets, losses and decoding inherited."""

    def __init__(self, num_classes, in_channels, stacked_convs=2, conv_cfg=None, norm_cfg=None,
                 anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                                       ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]), **kwargs):
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        super(Tutorial2xAnchorHead, self).__init__(num_classes, in_channels, anchor_generator=anchor_generator,
                                                   **kwargs)

    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.shared_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            self.shared_convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        self.my_cls = nn.Conv2d(self.feat_channels, self.num_anchors * self.cls_out_channels, 3, padding=1)
        self.my_reg = nn.Conv2d(self.feat_channels, self.num_anchors * 4, 3, padding=1)

    def init_weights(self):
        for m in self.shared_convs:
            normal_init(m.conv, std=0.01)
        normal_init(self.my_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.my_reg, std=0.01)

    def forward_single(self, x):
        feat = x
        for conv in self.shared_convs:
            feat = conv(feat)
        return self.my_cls(feat), self.my_reg(feat)


USER_MODEL = dict(
    type='RetinaNet',
    backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                  norm_eval=False),
    neck=dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=16, start_level=1,
              add_extra_convs='on_input', num_outs=5),
    bbox_head=dict(type='Tutorial2xAnchorHead', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=2,
                   bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                   target_stds=[1.0, 1.0, 1.0, 1.0]),
                   loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                   loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                                 ignore_iof_thr=-1),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                  max_per_img=100))


def user_batch():
    metas = [dict(img_shape=(128, 160, 3), pad_shape=(128, 160, 3), ori_shape=(128, 160, 3),
                  scale_factor=np.ones(4, np.float32), flip=False) for _ in range(2)]
    return dict(img=torch.randn(2, 3, 128, 160), img_metas=metas,
                gt_bboxes=[torch.tensor([[10., 12., 70., 90.], [80., 40., 150., 120.]]),
                           torch.tensor([[30., 20., 110., 100.]])],
                gt_labels=[torch.tensor([0, 2]), torch.tensor([1])])


def test_user_2x_anchor_head_trains_in_a_detector():
    torch.manual_seed(0)
    model = build_detector(copy.deepcopy(USER_MODEL))
    head = model.bbox_head
    assert isinstance(head, Tutorial2xAnchorHead) and head.num_anchors == 9 and not head.sampling
    assert torch.allclose(head.my_cls.bias, torch.full_like(head.my_cls.bias, bias_init_with_prob(0.01)))
    data = user_batch()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    history = []
    for _ in range(6):
        out = model.train_step(data, optimizer)
        assert set(out['log_vars']) == {'loss_cls', 'loss_bbox', 'loss'} and out['num_samples'] == 2
        assert torch.isfinite(out['loss'])
        optimizer.zero_grad()
        out['loss'].backward()
        optimizer.step()
        history.append(out['log_vars']['loss'])
    assert all(np.isfinite(history)) and min(history[1:]) < history[0], history

    # the detector sums the per-level lists: log_vars are the sums of the head's losses
    losses = model(**data)
    assert isinstance(losses['loss_cls'], list) and len(losses['loss_cls']) == 5
    _, log_vars = model._parse_losses(losses)
    for key in ('loss_cls', 'loss_bbox'):
        assert close(log_vars[key], float(sum(t.detach() for t in losses[key])))

    model.eval()
    with torch.no_grad():
        results = model(img=[data['img']], img_metas=[data['img_metas']], return_loss=False)
        flipped = [dict(m, flip=True, flip_direction='horizontal') for m in data['img_metas']]
        merged = model.aug_test([data['img'], torch.flip(data['img'], [3])], [data['img_metas'], flipped],
                                rescale=True)
    assert len(results) == 2 and all(len(r) == 3 and all(d.shape[1] == 5 for d in r) for r in results)
    assert len(merged) == 2 and all(len(r) == 3 for r in merged)


def test_user_loss_single_override_is_used():
    class HalfLoss(Tutorial2xAnchorHead):
        def loss_single(self, *args, **kwargs):
            loss_cls, loss_bbox = super().loss_single(*args, **kwargs)
            return loss_cls * 0.5, loss_bbox * 0.5

    cfg = {k: v for k, v in USER_MODEL['bbox_head'].items() if k != 'type'}
    feats = [torch.randn(2, 16, h, w) for h, w in SIZES]
    values = []
    for cls in (Tutorial2xAnchorHead, HalfLoss):
        torch.manual_seed(0)
        head = cls(train_cfg=USER_MODEL['train_cfg'], test_cfg=USER_MODEL['test_cfg'], **cfg)
        head.init_weights()
        losses = head.loss(*head(feats), GT, LABELS_3, METAS)
        values.append([float(total(losses[k]).detach()) for k in ('loss_cls', 'loss_bbox')])
    assert all(close(h, f / 2) for f, h in zip(*values))


# --------------------------------------------- a user's 2.x AnchorFreeHead
class TinyPointHead(AnchorFreeHead):
    """The least an AnchorFreeHead subclass implements (2.x: FCOS-like heads)."""

    def _get_points_single(self, featmap_size, stride, dtype, device, flatten=False):
        y, x = super()._get_points_single(featmap_size, stride, dtype, device)
        return torch.stack((x.reshape(-1) * stride, y.reshape(-1) * stride), dim=-1) + stride // 2

    def get_targets(self, points, gt_bboxes_list, gt_labels_list):
        return [p.new_zeros(p.shape[0], dtype=torch.long) for p in points]

    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        return dict(loss_cls=[c.sigmoid().mean() for c in cls_scores], loss_bbox=[b.abs().mean() for b in bbox_preds])

    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=None):
        return [(torch.zeros(0, 5), torch.zeros(0, dtype=torch.long)) for _ in img_metas]


def test_anchor_free_head_2x_layers_forward_and_points():
    torch.manual_seed(0)
    head = TinyPointHead(num_classes=3, in_channels=8, feat_channels=16, stacked_convs=2, strides=(8, 16),
                         norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    head.init_weights()
    assert head.cls_out_channels == 3 and head.fp16_enabled is False and head.strides == (8, 16)
    keys = set(head.state_dict())
    assert {'cls_convs.0.conv.weight', 'cls_convs.1.gn.weight', 'reg_convs.1.conv.weight', 'conv_cls.weight',
            'conv_cls.bias', 'conv_reg.weight', 'conv_reg.bias'} <= keys
    assert 'cls_convs.0.conv.bias' not in keys  # conv_bias='auto': no bias before a norm
    x = torch.randn(2, 8, 12, 14)
    cls_score, bbox_pred, cls_feat, reg_feat = head.forward_single(x)
    assert cls_score.shape == (2, 3, 12, 14) and bbox_pred.shape == (2, 4, 12, 14)
    assert cls_feat.shape == reg_feat.shape == (2, 16, 12, 14)
    outs = head([x, torch.randn(2, 8, 6, 7)])
    assert len(outs) == 2 and [o.shape[-1] for o in outs[0]] == [14, 7]

    y, xs = AnchorFreeHead._get_points_single(head, (3, 4), 8, torch.float32, 'cpu')
    assert y.shape == xs.shape == (3, 4) and y[2, 0] == 2 and xs[0, 3] == 3  # 2.x: grid indices (y, x)
    y, xs = AnchorFreeHead._get_points_single(head, (3, 4), 8, torch.float32, 'cpu', flatten=True)
    assert y.shape == (12,) and torch.equal(xs[:4], torch.arange(4.))
    points = head.get_points([(12, 14), (6, 7)], torch.float32, 'cpu')
    assert [p.shape for p in points] == [(168, 2), (42, 2)] and points[1][1].tolist() == [24.0, 8.0]

    metas = [dict(img_shape=(96, 112, 3), pad_shape=(96, 112, 3), scale_factor=np.ones(4, np.float32))] * 2
    losses = head.forward_train([x, torch.randn(2, 8, 6, 7)], metas, [GT[0] / 4, GT[1] / 4], LABELS)
    assert len(losses['loss_cls']) == 2
    assert len(head.simple_test([x, torch.randn(2, 8, 6, 7)], metas)) == 2
