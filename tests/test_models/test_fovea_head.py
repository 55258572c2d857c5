import math

import numpy as np
import torch

from mmdet.models.builder import build_head
from mmdet.models.dense_heads.fovea_head import fovea_level_targets


def painted_reference(gt_bboxes_raw, gt_labels_raw, featmap_size, stride, base_len, rng, sigma, num_classes):
    """FoveaBox's target rule of one level, painted gt by gt (largest first) as
    the original does; cells sit at (index + 0.5) * stride."""
    y, x = torch.meshgrid(torch.arange(featmap_size[0]).float() + 0.5, torch.arange(featmap_size[1]).float() + 0.5,
                          indexing='ij')
    gt_areas = torch.sqrt((gt_bboxes_raw[:, 2] - gt_bboxes_raw[:, 0]) * (gt_bboxes_raw[:, 3] - gt_bboxes_raw[:, 1]))
    labels = gt_labels_raw.new_zeros(featmap_size) + num_classes
    bbox_targets = gt_bboxes_raw.new_ones(featmap_size[0], featmap_size[1], 4)
    hit = ((gt_areas >= rng[0]) & (gt_areas <= rng[1])).nonzero().flatten()
    if len(hit) == 0:
        return labels.flatten(), torch.log(bbox_targets).reshape(-1, 4)
    hit = hit[torch.sort(-gt_areas[hit])[1]]
    gt_bboxes = gt_bboxes_raw[hit, :] / stride
    half_w = 0.5 * (gt_bboxes[:, 2] - gt_bboxes[:, 0])
    half_h = 0.5 * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
    pos_left = torch.ceil(gt_bboxes[:, 0] + (1 - sigma) * half_w - 0.5).long().clamp(0, featmap_size[1] - 1)
    pos_right = torch.floor(gt_bboxes[:, 0] + (1 + sigma) * half_w - 0.5).long().clamp(0, featmap_size[1] - 1)
    pos_top = torch.ceil(gt_bboxes[:, 1] + (1 - sigma) * half_h - 0.5).long().clamp(0, featmap_size[0] - 1)
    pos_down = torch.floor(gt_bboxes[:, 1] + (1 + sigma) * half_h - 0.5).long().clamp(0, featmap_size[0] - 1)
    for px1, py1, px2, py2, label, (gx1, gy1, gx2, gy2) in zip(pos_left, pos_top, pos_right, pos_down,
                                                               gt_labels_raw[hit], gt_bboxes_raw[hit]):
        sl = (slice(py1, py2 + 1), slice(px1, px2 + 1))
        labels[sl] = label
        bbox_targets[sl + (0,)] = (stride * x[sl] - gx1) / base_len
        bbox_targets[sl + (1,)] = (stride * y[sl] - gy1) / base_len
        bbox_targets[sl + (2,)] = (gx2 - stride * x[sl]) / base_len
        bbox_targets[sl + (3,)] = (gy2 - stride * y[sl]) / base_len
    bbox_targets = bbox_targets.clamp(min=1. / 16, max=16.)
    return labels.flatten(), torch.log(bbox_targets).reshape(-1, 4)


def test_vectorised_targets_match_painting_loop():
    g = torch.Generator().manual_seed(0)
    for _ in range(15):
        xy = torch.rand(6, 2, generator=g) * 200
        boxes = torch.cat([xy, xy + torch.rand(6, 2, generator=g) * 120 + 8], 1)
        labels = torch.randint(0, 5, (6,), generator=g)
        for size, stride, base, rng in (((32, 40), 8, 16, (1, 64)), ((16, 20), 16, 32, (32, 128)),
                                        ((8, 10), 32, 64, (64, 256))):
            a = fovea_level_targets(boxes, labels, size, stride, base, rng, 0.4, 5)
            b = painted_reference(boxes, labels, size, stride, base, rng, 0.4, 5)
            assert torch.equal(a[0], b[0])
            assert torch.allclose(a[1], b[1], atol=1e-6)


def _one_level_head(use_vfl):
    cfg = dict(type='FoveaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1, strides=[8],
               base_edge_list=[16], scale_ranges=((1, 64),), sigma=0.4, use_vfl=use_vfl,
               loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=1.5, alpha=0.4, loss_weight=1.0),
               loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0))
    return build_head(cfg)


def test_vfl_targets_on_a_hand_made_case():
    """One 32x32 gt at (8, 8) on an 8x8 map of stride 8: its fovea is cells
    x, y in {2, 3}, centred at 20 and 28 px.  With zero box outputs every cell
    decodes to a 32x32 box around its centre, whose IoU with the gt is
    28*28 / (2*32*32 - 28*28) for all four."""
    head = _one_level_head(use_vfl=True)
    seen = {}

    def spy(module, args, kwargs):
        seen.update(target=args[1].clone(), avg_factor=kwargs['avg_factor'])
    head.loss_cls.register_forward_pre_hook(spy, with_kwargs=True)
    cls = torch.zeros(1, 3, 8, 8)
    reg = torch.zeros(1, 4, 8, 8, requires_grad=True)
    meta = dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3))
    gt = torch.tensor([[8., 8., 40., 40.]])
    losses = head.loss([cls], [reg], [gt], [torch.tensor([1])], [meta])
    target = seen['target'].view(8, 8, 3)
    iou = 28 * 28 / (2 * 32 * 32 - 28 * 28)
    expected = torch.zeros(8, 8, 3)
    expected[2:4, 2:4, 1] = iou
    assert torch.allclose(target, expected, atol=1e-6)
    assert seen['avg_factor'] == 4 + 1  # positives + images
    # log-space targets of the four cells: (0.75 | 1.25, 0.75 | 1.25, 1.25 | 0.75, 1.25 | 0.75)

    def smooth_l1(v, beta=0.11):
        v = abs(v)
        return v - 0.5 * beta if v >= beta else 0.5 * v * v / beta
    total = 0.0
    for cx in (20, 28):
        for cy in (20, 28):
            for d in ((cx - 8) / 16, (cy - 8) / 16, (40 - cx) / 16, (40 - cy) / 16):
                total += smooth_l1(math.log(d))
    assert abs(float(losses['loss_bbox']) - total / 4) < 1e-5


def test_focal_and_vfl_forms_of_the_config_agree_on_layout():
    """The original's form (use_vfl + loss_cls_vfl) and ours (loss_cls a
    VarifocalLoss) build the same head and give the same loss."""
    a = _one_level_head(use_vfl=True)
    b = build_head(dict(type='FoveaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
                        strides=[8], base_edge_list=[16], scale_ranges=((1, 64),),
                        loss_cls=dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                                      iou_weighted=True, loss_weight=1.0)))
    b.load_state_dict(a.state_dict())
    assert a.use_vfl and b.use_vfl
    torch.manual_seed(0)
    cls, reg = torch.randn(2, 3, 8, 8), torch.randn(2, 4, 8, 8) * 0.1
    metas = [dict(img_shape=(64, 64, 3)), dict(img_shape=(56, 60, 3))]
    gts = [torch.tensor([[8., 8., 40., 40.]]), torch.zeros((0, 4))]
    labels = [torch.tensor([2]), torch.zeros((0,), dtype=torch.long)]
    la, lb = a.loss([cls], [reg], gts, labels, metas), b.loss([cls], [reg], gts, labels, metas)
    for k in la:
        assert torch.allclose(la[k], lb[k])


def test_decoding_uses_cell_centres():
    head = _one_level_head(use_vfl=False)
    head.test_cfg = dict(nms_pre=1000, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)
    cls = torch.full((1, 3, 8, 8), -10.0)
    cls[0, 0, 2, 3] = 5.0  # one confident cell, class 0, at x = 3, y = 2
    reg = torch.zeros(1, 4, 8, 8)
    meta = dict(img_shape=(64, 64, 3), scale_factor=np.ones(4, np.float32))
    (dets, labels), = head.get_bboxes([cls], [reg], [meta])
    top = dets[dets[:, 4].argmax()]
    assert torch.allclose(top[:4], torch.tensor([28 - 16, 20 - 16, 28 + 16, 20 + 16.]))
