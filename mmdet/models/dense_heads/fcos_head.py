"""FCOS head (Tian et al., "FCOS: Fully Convolutional One-Stage Object
Detection", ICCV 2019), with MMDetection 2.x's semantics and options.

Every feature-map location is a point ``(x, y) = grid * stride + stride // 2``
that predicts class scores, the distances ``(l, t, r, b)`` to the four sides of
its box and a "centerness" that down-weights points far from the box centre.

The "FCOS+tricks" options of the official repository:

* ``center_sampling``: a point is positive only within
  ``center_sample_radius * stride`` of the gt centre (clipped to the gt box);
* ``norm_on_bbox``: distances are predicted in units of the level's stride
  (``relu`` instead of ``exp``);
* ``centerness_on_reg``: the centerness branch sits on the regression tower;
* ``dcn_on_last_conv``: the last conv of each tower is a DCNv2;
* ``conv_bias``: biases in the tower convs even with GN;
* GIoU instead of IoU loss (``loss_bbox=dict(type='GIoULoss')``).

Reads top to bottom: target functions, layers, forward, targets, loss, decode.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet.core import distance2bbox, fcos_assign, grid_points
from mmdet.ops import Conv2d, Scale, normal_init
from mmdet.utils import reduce_mean

from ..builder import HEADS, build_loss
from .anchor_free_head import AnchorFreeHead
from .base_dense_head import finish_detections

INF = 1e8


# --------------------------------------------------------------------- target functions
def fcos_point_targets(points, regress_ranges, strides, gt_bboxes, gt_labels, num_classes, center_sampling=False,
                       center_sample_radius=1.5, norm_on_bbox=False):
    """FCOS targets of one image's points, all levels at once.

    A point is positive for a gt when it lies inside the gt box (with
    ``center_sampling``: inside the box ``center +- center_sample_radius *
    stride`` clipped to the gt) and the largest of its four distances to the
    gt's sides lies in its level's ``regress_range`` (inclusive); when several
    gts qualify, the one of smallest area wins.  The matching itself is
    :func:`mmdet.core.fcos_assign` (vectorised over points x gts).

    Args:
        points (list[Tensor]): per level (P_l, 2) point coordinates (x, y).
        regress_ranges (Sequence[tuple[float, float]]): per level (min, max)
            of the largest regression distance.
        strides (Sequence[int]): per level stride.
        gt_bboxes (Tensor): (G, 4) gt boxes (x1, y1, x2, y2).
        gt_labels (Tensor): (G,) gt labels in [0, num_classes).
        num_classes (int): the background label.
        center_sampling (bool), center_sample_radius (float): see above.
        norm_on_bbox (bool): divide each level's distance targets by its stride.

    Returns:
        tuple[Tensor, Tensor]: ``labels`` (P,) (``num_classes`` for background)
        and ``bbox_targets`` (P, 4) distances (l, t, r, b) to the assigned gt
        (to some gt for background points, as in 2.x; never used), P = sum P_l
        in level order.
    """
    if not (len(points) == len(regress_ranges) == len(strides)):
        raise ValueError(f'fcos_point_targets: {len(points)} point levels, {len(regress_ranges)} regress_ranges '
                         f'and {len(strides)} strides; they must match')
    all_points = torch.cat(points)
    counts = [p.size(0) for p in points]
    ranges = torch.cat([all_points.new_tensor(rr).expand(n, 2) for rr, n in zip(regress_ranges, counts)])
    level_strides = torch.cat([all_points.new_full((n,), float(s)) for s, n in zip(strides, counts)])
    labels, bbox_targets = fcos_assign(all_points, ranges, level_strides, gt_bboxes, gt_labels, num_classes,
                                       center_sampling, center_sample_radius)
    if norm_on_bbox:
        bbox_targets = bbox_targets / level_strides[:, None]
    return labels, bbox_targets


def centerness_target(bbox_targets):
    """``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` of (n, 4)
    distance targets (l, t, r, b) -> (n,); only for positive points (all
    distances > 0), elsewhere it can be NaN."""
    lr = bbox_targets[:, [0, 2]]
    tb = bbox_targets[:, [1, 3]]
    return torch.sqrt((lr.min(-1).values / lr.max(-1).values) * (tb.min(-1).values / tb.max(-1).values))


def flatten_levels(maps, channels):
    """Per level (N, C, H, W) -> (sum over levels of N * H * W, C), ordered
    level, image, row, column (the order of the targets)."""
    return torch.cat([m.permute(0, 2, 3, 1).reshape(-1, channels) for m in maps])


@HEADS.register_module()
class FCOSHead(AnchorFreeHead):
    """FCOS head: per level ``cls_convs`` / ``reg_convs`` towers,
    ``conv_cls``, ``conv_reg``, ``conv_centerness`` and a learnable ``Scale``
    on the regression.

    Args:
        num_classes (int): categories without the background.
        in_channels (int): channels of the input feature maps.
        regress_ranges (tuple[tuple[float, float]]): per level (min, max) of a
            positive point's largest distance to its gt's sides.
        center_sampling (bool), center_sample_radius (float): positives only
            within ``radius * stride`` of the gt centre.
        norm_on_bbox (bool): distances in units of the stride (relu, not exp).
        centerness_on_reg (bool): centerness on the regression tower.
        loss_cls (dict): sigmoid classification loss (FocalLoss).
        loss_bbox (dict): IoULoss / GIoULoss on the decoded boxes, weighted by
            the centerness targets.
        loss_centerness (dict): sigmoid BCE on the centerness.
        norm_cfg (dict | None): norm of the tower convs (GN).
        **kwargs: of :class:`AnchorFreeHead`: ``feat_channels``,
            ``stacked_convs``, ``strides``, ``dcn_on_last_conv``,
            ``conv_bias``, ``conv_cfg``, ``train_cfg``, ``test_cfg``,
            ``init_cfg``.  ``train_cfg`` is not used (FCOS assigns by
            position; the configs' MaxIoUAssigner entry is ignored, as in 2.x).

    ``forward`` returns per-level lists ``(cls_scores (N, C, H, W),
    bbox_preds (N, 4, H, W), centernesses (N, 1, H, W))``; the losses are
    ``loss_cls``, ``loss_bbox`` and ``loss_centerness``.
    """

    def __init__(self, num_classes, in_channels,
                 regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512), (512, INF)),
                 center_sampling=False, center_sample_radius=1.5, norm_on_bbox=False, centerness_on_reg=False,
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_bbox=dict(type='IoULoss', loss_weight=1.0),
                 loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 norm_cfg=dict(type='GN', num_groups=32, requires_grad=True), **kwargs):
        name = type(self).__name__
        strides = kwargs.get('strides', (4, 8, 16, 32, 64))
        if len(regress_ranges) != len(strides):
            raise ValueError(f'{name}: regress_ranges ({len(regress_ranges)} levels) and strides '
                             f'({len(strides)} levels) need one entry per feature level, got '
                             f'regress_ranges={regress_ranges!r}, strides={strides!r}')
        if not loss_cls.get('use_sigmoid', True):
            raise ValueError(f'{name} needs a sigmoid classification loss, got loss_cls={loss_cls!r}')
        self.regress_ranges = regress_ranges
        self.center_sampling = center_sampling
        self.center_sample_radius = center_sample_radius
        self.norm_on_bbox = norm_on_bbox
        self.centerness_on_reg = centerness_on_reg
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, loss_bbox=loss_bbox, norm_cfg=norm_cfg,
                         **kwargs)
        self.use_sigmoid_cls = True
        self.loss_centerness = build_loss(loss_centerness)

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        super()._init_layers()  # cls_convs, reg_convs, conv_cls, conv_reg
        self.conv_centerness = Conv2d(self.feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def init_weights(self):
        super().init_weights()
        normal_init(self.conv_centerness, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward(self, feats):
        """Per-level features (N, in_channels, H_l, W_l) -> per-level lists
        ``(cls_scores, bbox_preds, centernesses)``."""
        if len(feats) != len(self.strides):
            raise ValueError(f'{type(self).__name__} got {len(feats)} feature levels but has {len(self.strides)} '
                             f'strides ({list(self.strides)})')
        outs = [self.forward_single(x, scale, stride) for x, scale, stride in zip(feats, self.scales, self.strides)]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x, scale, stride):
        """One level: ``cls_score`` (N, C, H, W) logits, ``bbox_pred`` (N, 4,
        H, W) float32 distances (in pixels; in strides while training with
        ``norm_on_bbox``) and ``centerness`` (N, 1, H, W) logits."""
        cls_score, bbox_pred, cls_feat, reg_feat = super().forward_single(x)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = scale(bbox_pred).float()  # float: exp overflows in fp16
        if self.norm_on_bbox:
            bbox_pred = F.relu(bbox_pred)
            if not self.training:
                bbox_pred = bbox_pred * stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, centerness

    # ----------------------------------------------------------------- targets
    def _get_points_single(self, featmap_size, stride, dtype, device, flatten=False):
        """(H * W, 2) points ``(x, y) = grid * stride + stride // 2``, row-major."""
        return grid_points(featmap_size, stride, stride // 2, dtype, device)

    def get_targets(self, points, gt_bboxes_list, gt_labels_list):
        """Targets of the per-level ``points`` (P_l, 2) for every image.

        Returns ``(labels, bbox_targets)``: per level (N * P_l,) labels and
        (N * P_l, 4) distance targets (divided by the stride with
        ``norm_on_bbox``), images concatenated within a level (2.x's layout).
        """
        if len(points) != len(self.regress_ranges):
            raise ValueError(f'{type(self).__name__}: {len(points)} point levels but {len(self.regress_ranges)} '
                             f'regress_ranges')
        per_img = [fcos_point_targets(points, self.regress_ranges, self.strides, b, l, self.num_classes,
                                      self.center_sampling, self.center_sample_radius, self.norm_on_bbox)
                   for b, l in zip(gt_bboxes_list, gt_labels_list)]
        counts = [p.size(0) for p in points]
        labels = torch.stack([p[0] for p in per_img]).split(counts, dim=1)  # per level (N, P_l)
        targets = torch.stack([p[1] for p in per_img]).split(counts, dim=1)  # per level (N, P_l, 4)
        return [lv.reshape(-1) for lv in labels], [lv.reshape(-1, 4) for lv in targets]

    def centerness_target(self, pos_bbox_targets):
        """See :func:`centerness_target`."""
        return centerness_target(pos_bbox_targets)

    # -------------------------------------------------------------------- loss
    def loss(self, cls_scores, bbox_preds, centernesses, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """``loss_cls`` (averaged over the positives of all ranks),
        ``loss_bbox`` (on the decoded boxes, weighted by the centerness
        targets and averaged by their cross-rank mean sum) and
        ``loss_centerness``.  ``gt_bboxes_ignore`` is not used (as in 2.x)."""
        if not (len(cls_scores) == len(bbox_preds) == len(centernesses)):
            raise ValueError(f'{type(self).__name__}.loss: {len(cls_scores)} cls_scores, {len(bbox_preds)} '
                             f'bbox_preds and {len(centernesses)} centernesses levels')
        cls_scores = [c.float() for c in cls_scores]
        bbox_preds = [b.float() for b in bbox_preds]
        if self.norm_on_bbox and not self.training:  # forward_single scaled them to pixels for decoding
            bbox_preds = [b / s for b, s in zip(bbox_preds, self.strides)]
        centernesses = [c.float() for c in centernesses]
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        points = self.get_points(featmap_sizes, bbox_preds[0].dtype, bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(points, gt_bboxes, gt_labels)
        labels, bbox_targets = torch.cat(labels), torch.cat(bbox_targets)

        num_imgs = cls_scores[0].size(0)
        flat_cls = flatten_levels(cls_scores, self.cls_out_channels)
        flat_reg = flatten_levels(bbox_preds, 4)
        flat_ctr = flatten_levels(centernesses, 1).reshape(-1)
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])

        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero(as_tuple=False).squeeze(1)
        num_pos = max(reduce_mean(flat_cls.new_tensor(float(pos.numel()))).item(), 1.0)
        loss_cls = self.loss_cls(flat_cls, labels, avg_factor=num_pos)

        pos_reg, pos_ctr = flat_reg[pos], flat_ctr[pos]
        pos_targets = bbox_targets[pos]
        ctr_targets = centerness_target(pos_targets)
        # every rank joins the reduction, with or without positives (2.x skipped it without and could hang)
        ctr_denorm = max(reduce_mean(ctr_targets.sum().detach()).item(), 1e-6)
        if pos.numel() > 0:
            pos_points = flat_points[pos]
            loss_bbox = self.loss_bbox(distance2bbox(pos_points, pos_reg), distance2bbox(pos_points, pos_targets),
                                       weight=ctr_targets, avg_factor=ctr_denorm)
            loss_centerness = self.loss_centerness(pos_ctr, ctr_targets, avg_factor=num_pos)
        else:
            loss_bbox, loss_centerness = pos_reg.sum(), pos_ctr.sum()
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_centerness=loss_centerness)

    # ------------------------------------------------------------------ decode
    def get_bboxes(self, cls_scores, bbox_preds, centernesses, img_metas, cfg=None, rescale=False, with_nms=True):
        """Per image ``(dets (k, 5), labels (k,))`` (score = sigmoid(cls) and
        NMS with the sigmoid centerness as score factor), or ``(boxes (n, 4),
        scores (n, C + 1), centerness (n,))`` without NMS.

        ``cfg`` (default ``test_cfg``): ``nms_pre`` (per level, ranked by
        score x centerness), ``score_thr``, ``nms``, ``max_per_img``.
        """
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        points = self.get_points(featmap_sizes, bbox_preds[0].dtype, bbox_preds[0].device)
        nms_pre = cfg.get('nms_pre', -1)
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores, factors = [], [], []
            for cls, reg, ctr, pts in zip(cls_scores, bbox_preds, centernesses, points):
                s = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                c = ctr[i].detach().permute(1, 2, 0).reshape(-1).sigmoid()
                d = reg[i].detach().permute(1, 2, 0).reshape(-1, 4)
                if 0 < nms_pre < s.shape[0]:
                    _, topk = (s * c[:, None]).max(dim=1).values.topk(nms_pre)
                    pts, d, s, c = pts[topk], d[topk], s[topk], c[topk]
                boxes.append(distance2bbox(pts, d, max_shape=meta['img_shape']))
                scores.append(s)
                factors.append(c)
            results.append(finish_detections(torch.cat(boxes), torch.cat(scores), meta, cfg, rescale, with_nms,
                                             score_factors=torch.cat(factors)))
        return results
