"""RepPoints head (Yang et al., ICCV 2019), with the Varifocal Loss option of the VFNet paper.

Nine points per location are predicted (init), then refined through a
deformable conv sampled at those points; boxes come from the points by the
``moment`` (mean +- learned multiple of std), ``minmax`` (extremes of all
points) or ``partial_minmax`` (extremes of the first four points) transform.
The init stage is assigned with a PointAssigner on grid points (or MaxIoU on
``point_base_scale``-stride boxes around them), the refine stage with MaxIoU
on the init boxes.  With ``loss_cls`` a VarifocalLoss, the class target of a
refine-stage positive is the IoU of its refined box with its gt.

Point representations (as in MMDetection 2.10):

- ``center_init=True, use_grid_points=False`` (default): the init offsets
  start at the location itself; refined points = refine offsets + detached
  init points.
- ``center_init=False``: the init points start on a regular k x k grid
  spanning ``point_base_scale`` strides around the location.
- ``use_grid_points=True`` (the ``bbox_*_grid_*`` configs): each stage
  predicts 4 numbers (dx, dy, log dw, log dh) that regress a box from the
  previous one (``point_base_scale`` strides square for init, the detached
  init box for refine); its points are the k x k grid spanning that box
  (:meth:`RepPointsHead.gen_grid_from_reg`).
"""
import numpy as np
import torch
import torch.nn as nn

from mmdet.core import bbox_overlaps, build_assigner, grid_points, valid_grid_flags
from mmdet.ops import Conv2d, DeformConv2d, bias_init_with_prob, kernel_grid_offset, normal_init

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower, finish_detections, select_vfl
from .prior_targets import levels_first, scatter_assignment


@HEADS.register_module()
class RepPointsHead(BaseDenseHead):
    """RepPoints head.

    Outputs per level: ``cls_score`` (N, num_classes, H, W) and the init and
    refined points (N, 2 * num_points, H, W), (y, x) pairs in stride units
    relative to the location, row-major over the k x k kernel.

    Args (beyond the usual head ones):
        point_feat_channels (int): channels of the point convs.
        num_points (int): an odd square (k * k).
        gradient_mul (float): share of the gradient that flows from the
            deformable convs back into the init points.
        point_strides (list[int]), point_base_scale (int): level strides and
            the box scale (in strides) for assignment/normalisation.
        use_grid_points (bool), center_init (bool): the point representation
            (see the module docstring).
        transform_method (str): 'moment', 'minmax' or 'partial_minmax'.
        moment_mul (float): gradient share of the learned moment transfer.
    """

    TRANSFORMS = ('moment', 'minmax', 'partial_minmax')

    def __init__(self, num_classes, in_channels, feat_channels=256, point_feat_channels=256, stacked_convs=3,
                 num_points=9, gradient_mul=0.1, point_strides=(8, 16, 32, 64, 128), point_base_scale=4,
                 conv_cfg=None, norm_cfg=None,
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 use_vfl=None,
                 loss_cls_vfl=dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                                   iou_weighted=True, loss_weight=1.0),
                 loss_bbox_init=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=0.5),
                 loss_bbox_refine=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
                 use_grid_points=False, center_init=True, transform_method='moment', moment_mul=0.01,
                 train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__()
        if transform_method not in self.TRANSFORMS:
            raise ValueError(f'transform_method must be one of {self.TRANSFORMS}, got {transform_method!r}')
        self.use_grid_points, self.center_init = use_grid_points, center_init
        self.num_classes, self.in_channels = num_classes, in_channels
        self.feat_channels, self.point_feat_channels = feat_channels, point_feat_channels
        self.stacked_convs, self.num_points = stacked_convs, num_points
        self.gradient_mul, self.point_strides = gradient_mul, list(point_strides)
        self.point_base_scale, self.conv_cfg, self.norm_cfg = point_base_scale, conv_cfg, norm_cfg
        self.transform_method, self.moment_mul = transform_method, moment_mul
        self.cls_out_channels = num_classes
        self.use_vfl, loss_cls = select_vfl('RepPointsHead', loss_cls, use_vfl, loss_cls_vfl)
        self.loss_cls = build_loss(loss_cls)
        self.loss_bbox_init, self.loss_bbox_refine = build_loss(loss_bbox_init), build_loss(loss_bbox_refine)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if train_cfg:
            self.init_assigner = build_assigner(train_cfg['init']['assigner'])
            self.refine_assigner = build_assigner(train_cfg['refine']['assigner'])
        k = int(np.sqrt(num_points))
        if k * k != num_points or k % 2 == 0:
            raise ValueError(f'num_points must be an odd square (9, 25, ...), got {num_points}')
        self.dcn_kernel, self.dcn_pad = k, (k - 1) // 2
        self.dcn_base_offset = kernel_grid_offset(k)
        if transform_method == 'moment':
            self.moment_transfer = nn.Parameter(torch.zeros(2))
        self._init_layers()
        self.init_weights()

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = (conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                                     self.conv_cfg, self.norm_cfg) for _ in range(2))
        fc, pc = self.feat_channels, self.point_feat_channels
        out = 4 if self.use_grid_points else 2 * self.num_points
        self.reppoints_cls_conv = DeformConv2d(fc, pc, self.dcn_kernel, 1, self.dcn_pad)
        self.reppoints_cls_out = Conv2d(pc, self.cls_out_channels, 1, 1, 0)
        self.reppoints_pts_init_conv = Conv2d(fc, pc, 3, 1, 1)
        self.reppoints_pts_init_out = Conv2d(pc, out, 1, 1, 0)
        self.reppoints_pts_refine_conv = DeformConv2d(fc, pc, self.dcn_kernel, 1, self.dcn_pad)
        self.reppoints_pts_refine_out = Conv2d(pc, out, 1, 1, 0)

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.reppoints_cls_conv, std=0.01)
        normal_init(self.reppoints_cls_out, std=0.01, bias=bias_init_with_prob(0.01))
        for m in (self.reppoints_pts_init_conv, self.reppoints_pts_init_out, self.reppoints_pts_refine_conv,
                  self.reppoints_pts_refine_out):
            normal_init(m, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward(self, feats):
        """Per-level lists ``(cls_scores, pts_init, pts_refine)``; points as (y, x) offsets in stride units."""
        outs = [self.forward_single(x) for x in feats]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x):
        """(N, C, H, W) -> ``cls_out`` (N, num_classes, H, W), ``pts_init`` and
        ``pts_refine`` (N, 2 * num_points, H, W)."""
        base = self.dcn_base_offset.type_as(x)
        bbox_init = None
        if self.use_grid_points or not self.center_init:
            scale = self.point_base_scale / 2
            points_init = base / base.max() * scale  # k x k grid spanning the base box
            bbox_init = x.new_tensor([-scale, -scale, scale, scale]).view(1, 4, 1, 1)
        else:
            points_init = 0
        cls_feat, pts_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            pts_feat = layer(pts_feat)
        pts_init = self.reppoints_pts_init_out(self.relu(self.reppoints_pts_init_conv(pts_feat)))
        if self.use_grid_points:
            pts_init, bbox_out_init = self.gen_grid_from_reg(pts_init, bbox_init.detach())
        else:
            pts_init = pts_init + points_init
        pts_grad_mul = (1 - self.gradient_mul) * pts_init.detach() + self.gradient_mul * pts_init
        dcn_offset = pts_grad_mul - base
        cls_out = self.reppoints_cls_out(self.relu(self.reppoints_cls_conv(cls_feat, dcn_offset)))
        pts_refine = self.reppoints_pts_refine_out(self.relu(self.reppoints_pts_refine_conv(pts_feat, dcn_offset)))
        if self.use_grid_points:
            pts_refine, _ = self.gen_grid_from_reg(pts_refine, bbox_out_init.detach())
        else:
            pts_refine = pts_refine + pts_init.detach()
        return cls_out, pts_init, pts_refine

    def gen_grid_from_reg(self, reg, previous_boxes):
        """Regress boxes from ``previous_boxes`` and put a k x k grid on them.

        Args:
            reg (Tensor): (N, 4, H, W): (dx, dy) shift of the centre in units
                of the previous width/height, then (log dw, log dh).
            previous_boxes (Tensor): (N or 1, 4, H or 1, W or 1) boxes
                (x1, y1, x2, y2) in stride units relative to the location.

        Returns:
            tuple: ``grid_yx`` (N, 2 * k * k, H, W), (y, x) pairs of the grid
            points (row-major, corners included), and the regressed boxes
            (N, 4, H, W) (x1, y1, x2, y2).
        """
        b, _, h, w = reg.shape
        k = self.dcn_kernel
        bxy = (previous_boxes[:, :2] + previous_boxes[:, 2:]) / 2.
        bwh = (previous_boxes[:, 2:] - previous_boxes[:, :2]).clamp(min=1e-6)
        grid_wh = bwh * torch.exp(reg[:, 2:])
        grid_topleft = bxy + bwh * reg[:, :2] - 0.5 * grid_wh
        left, top = grid_topleft[:, 0:1], grid_topleft[:, 1:2]  # (N, 1, H, W)
        width, height = grid_wh[:, 0:1], grid_wh[:, 1:2]
        interval = torch.linspace(0., 1., k, device=reg.device, dtype=reg.dtype).view(1, k, 1, 1)
        grid_x = (left + width * interval).unsqueeze(1).expand(b, k, k, h, w)  # [row, col] -> x of col
        grid_y = (top + height * interval).unsqueeze(2).expand(b, k, k, h, w)  # [row, col] -> y of row
        grid_yx = torch.stack([grid_y, grid_x], dim=3).reshape(b, 2 * k * k, h, w)
        regressed = torch.cat([left, top, left + width, top + height], 1)
        return grid_yx, regressed

    def points2bbox(self, pts, y_first=True):
        """(N, 2K, ...) points -> (N, 4, ...) boxes (x1, y1, x2, y2) by the
        moment, min-max or partial (first four points) min-max transform."""
        p = pts.view(pts.shape[0], -1, 2, *pts.shape[2:])
        ys, xs = (p[:, :, 0], p[:, :, 1]) if y_first else (p[:, :, 1], p[:, :, 0])
        if self.transform_method in ('minmax', 'partial_minmax'):
            if self.transform_method == 'partial_minmax':
                ys, xs = ys[:, :4], xs[:, :4]
            return torch.cat([xs.min(1, keepdim=True).values, ys.min(1, keepdim=True).values,
                              xs.max(1, keepdim=True).values, ys.max(1, keepdim=True).values], dim=1)
        ym, xm = ys.mean(dim=1, keepdim=True), xs.mean(dim=1, keepdim=True)
        ysd, xsd = torch.std(ys - ym, dim=1, keepdim=True), torch.std(xs - xm, dim=1, keepdim=True)
        t = self.moment_transfer * self.moment_mul + self.moment_transfer.detach() * (1 - self.moment_mul)
        hw, hh = xsd * torch.exp(t[0]), ysd * torch.exp(t[1])
        return torch.cat([xm - hw, ym - hh, xm + hw, ym + hh], dim=1)

    # ----------------------------------------------------------- targets/loss
    def _points(self, featmap_sizes, device):
        """Per level (h*w, 3) grid points (x, y, stride)."""
        return [torch.cat([grid_points(fs, s, device=device), torch.full((fs[0] * fs[1], 1), float(s), device=device)],
                          1) for fs, s in zip(featmap_sizes, self.point_strides)]

    def _assign(self, assigner, candidates, valid, gt_bboxes, gt_labels, gt_ignore):
        """One image: labels, label weights, matched gt boxes, max(#positives, 1)."""
        result = assigner.assign(candidates[valid], gt_bboxes, gt_ignore, gt_labels)
        labels, gt_boxes, weights = scatter_assignment(candidates.size(0), valid, result, gt_bboxes, gt_labels,
                                                       self.num_classes)
        return labels, weights, gt_boxes, max(int(result.pos_mask.sum()), 1)

    def loss(self, cls_scores, pts_preds_init, pts_preds_refine, gt_bboxes, gt_labels, img_metas,
             gt_bboxes_ignore=None):
        device = cls_scores[0].device
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        num_imgs = len(img_metas)
        ignore = gt_bboxes_ignore if gt_bboxes_ignore is not None else [None] * num_imgs
        counts = [fs[0] * fs[1] for fs in featmap_sizes]
        points = self._points(featmap_sizes, device)
        flat_points = torch.cat(points)
        strides = flat_points[:, 2]
        valids = []
        for meta in img_metas:
            h, w = meta['pad_shape'][:2]
            valids.append(torch.cat([valid_grid_flags(fs, (min(int(np.ceil(h / s)), fs[0]),
                                                           min(int(np.ceil(w / s)), fs[1])), 1, device)
                                     for fs, s in zip(featmap_sizes, self.point_strides)]))
        # init stage: points (PointAssigner) or stride-sized boxes around them
        init_assigner_is_point = self.train_cfg['init']['assigner']['type'] == 'PointAssigner'
        if init_assigner_is_point:
            init_cands = flat_points
        else:
            half = (self.point_base_scale * strides / 2)[:, None]
            init_cands = torch.cat([flat_points[:, :2] - half, flat_points[:, :2] + half], 1)
        init = [self._assign(self.init_assigner, init_cands, valids[i], gt_bboxes[i], gt_labels[i], ignore[i])
                for i in range(num_imgs)]
        # refine stage: the boxes of the (detached) init points
        init_boxes = []
        for i in range(num_imgs):
            per_lvl = [(self.points2bbox(p[i:i + 1].detach()) * s)[0].permute(1, 2, 0).reshape(-1, 4)
                       for p, s in zip(pts_preds_init, self.point_strides)]
            init_boxes.append(torch.cat(per_lvl) + flat_points[:, :2].repeat(1, 2))
        refine = [self._assign(self.refine_assigner, init_boxes[i], valids[i], gt_bboxes[i], gt_labels[i], ignore[i])
                  for i in range(num_imgs)]
        n_init = float(sum(r[3] for r in init))
        n_refine = float(sum(r[3] for r in refine))

        labels = levels_first([r[0] for r in refine], counts)
        label_weights = levels_first([r[1] for r in refine], counts)
        gt_refine = levels_first([r[2] for r in refine], counts)
        w_refine = (label_weights * ((labels >= 0) & (labels < self.num_classes)).float())[:, None].expand(-1, 4)
        gt_init = levels_first([r[2] for r in init], counts)
        init_labels = levels_first([r[0] for r in init], counts)
        w_init = ((init_labels >= 0) & (init_labels < self.num_classes)).float()[:, None].expand(-1, 4)

        centres = torch.cat([p[:, :2].repeat(num_imgs, 1) for p in points])
        norm = torch.cat([p.new_full((p.size(0) * num_imgs, 1), self.point_base_scale * s)
                          for p, s in zip(points, self.point_strides)])
        stride_col = torch.cat([p.new_full((p.size(0) * num_imgs, 1), float(s)) for p, s in zip(points, self.point_strides)])

        def coords(preds):  # (N, 2K, H, W) (y, x) offsets -> (sum, 2K) absolute (x, y) points
            flat = torch.cat([p.permute(0, 2, 3, 1).reshape(-1, 2 * self.num_points) for p in preds])
            yx = flat.view(-1, self.num_points, 2)
            return (yx.flip(-1) * stride_col[:, None] + centres[:, None]).reshape(-1, 2 * self.num_points)
        box_init = self.points2bbox(coords(pts_preds_init), y_first=False)
        box_refine = self.points2bbox(coords(pts_preds_refine), y_first=False)
        loss_init = self.loss_bbox_init(box_init / norm, gt_init / norm, w_init, avg_factor=n_init)
        loss_refine = self.loss_bbox_refine(box_refine / norm, gt_refine / norm, w_refine, avg_factor=n_refine)

        flat_cls = torch.cat([c.float().permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for c in cls_scores])
        if self.use_vfl:
            pos = ((labels >= 0) & (labels < self.num_classes)).nonzero(as_tuple=False).squeeze(1)
            targets = torch.zeros_like(flat_cls)
            # no clamp (as the original): a refined box missing its gt is a VFL negative
            targets[pos, labels[pos]] = bbox_overlaps(box_refine[pos].detach(), gt_refine[pos], is_aligned=True)
            loss_cls = self.loss_cls(flat_cls, targets, weight=label_weights[:, None], avg_factor=n_refine)
        else:
            loss_cls = self.loss_cls(flat_cls, labels, label_weights, avg_factor=n_refine)
        return dict(loss_cls=loss_cls, loss_pts_init=loss_init, loss_pts_refine=loss_refine)

    # ------------------------------------------------------------------ decode
    def get_bboxes(self, cls_scores, pts_preds_init, pts_preds_refine, img_metas, cfg=None, rescale=False,
                   with_nms=True):
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        points = self._points(featmap_sizes, cls_scores[0].device)
        boxes_refine = [self.points2bbox(p) for p in pts_preds_refine]
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores = [], []
            for cls, box, pts, s in zip(cls_scores, boxes_refine, points, self.point_strides):
                sc = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                b = box[i].detach().permute(1, 2, 0).reshape(-1, 4)
                nms_pre = cfg.get('nms_pre', -1)
                if 0 < nms_pre < sc.shape[0]:
                    _, topk = sc.max(dim=1).values.topk(nms_pre)
                    sc, b, pts = sc[topk], b[topk], pts[topk]
                b = b * s + pts[:, :2].repeat(1, 2)
                h, w = meta['img_shape'][:2]
                b = torch.stack([b[:, 0].clamp(0, w), b[:, 1].clamp(0, h), b[:, 2].clamp(0, w), b[:, 3].clamp(0, h)], -1)
                boxes.append(b)
                scores.append(sc)
            results.append(finish_detections(torch.cat(boxes), torch.cat(scores), meta, cfg, rescale, with_nms))
        return results
