"""PAA head (Kim & Lee, "Probabilistic Anchor Assignment with IoU Prediction
for Object Detection", ECCV 2020), with MMDetection 2.10's semantics.

Layers and forward are ATSS's: a classification and a regression tower, then
``atss_cls``, ``atss_reg`` and ``atss_centerness`` (which here predicts the IoU
of the decoded box with its gt; the name is the checkpoints').

Targets come in two steps:

1. Candidates: the :class:`MaxIoUAssigner` of ``train_cfg`` (IoU >= 0.1 in the
   configs) gives each anchor its best-overlapping gt.
2. Probabilistic assignment: each candidate is scored by its loss under the
   current predictions (classification loss summed over classes + box loss);
   per gt and per level the ``topk`` lowest-scoring candidates are kept; a
   two-component Gaussian mixture (scikit-learn) is fit to the kept scores of
   the gt, and the candidates of the low-score component up to the one with
   the highest mixture density become positives.  Every other candidate
   becomes background.

Losses: Focal Loss over all anchors, GIoU on the positives weighted by the IoU
of their decoded box, BCE of the IoU branch against that IoU.
Decode: scores sqrt(cls * IoU), per-class NMS, then score voting.

Reads top to bottom: helpers (targets, GMM, voting), layers, forward, loss,
decode.
"""
import numpy as np
import torch
import torch.nn as nn

from mmdet.core import anchor_inside_flags, bbox_overlaps, build_anchor_generator, build_assigner, build_bbox_coder
from mmdet.core import multiclass_nms
from mmdet.ops import Conv2d, Scale, bias_init_with_prob, normal_init

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower
from .prior_targets import scatter_assignment

EPS = 1e-12
COVARIANCE_TYPES = ('full', 'tied', 'diag', 'spherical')


# ---------------------------------------------------------------- candidates
def max_iou_candidates(anchors, valid_flags, gt_bboxes, gt_labels, img_meta, assigner, num_classes,
                       gt_bboxes_ignore=None, allowed_border=-1):
    """The first step of PAA for one image: a MaxIoU assignment of all anchors.

    Args:
        anchors (Tensor): (A, 4) anchors of all levels, concatenated.
        valid_flags (Tensor): (A,) bool, inside the padded image.
        gt_bboxes (Tensor): (G, 4) gt boxes; ``gt_labels`` (G,) their classes.
        img_meta (dict): the image's meta (``img_shape``).
        assigner: a :class:`MaxIoUAssigner` (``assign(bboxes, gt_bboxes,
            gt_bboxes_ignore, gt_labels)``).
        num_classes (int): the background label.

    Returns:
        tuple: ``labels`` (A,) long (``num_classes`` = background),
        ``label_weights`` (A,) (1 for inside, non-ignored anchors),
        ``gt_boxes`` (A, 4) the assigned gt box (zeros elsewhere) and
        ``gt_index`` (A,) long, the assigned gt's index, -1 for non-candidates.
    """
    inside = anchor_inside_flags(anchors, valid_flags, img_meta['img_shape'], allowed_border)
    result = assigner.assign(anchors[inside], gt_bboxes, gt_bboxes_ignore, gt_labels)
    labels, gt_boxes, label_weights = scatter_assignment(anchors.size(0), inside, result, gt_bboxes, gt_labels,
                                                         num_classes)
    gt_index = labels.new_full((anchors.size(0),), -1)
    gt_index[inside.nonzero(as_tuple=False).squeeze(1)[result.pos_mask]] = result.gt_inds[result.pos_mask] - 1
    return labels, label_weights, gt_boxes, gt_index


# ------------------------------------------------------------------ the GMM
def _gaussian_mixture():
    """scikit-learn's GaussianMixture, imported only when PAA assigns anchors."""
    try:
        from sklearn.mixture import GaussianMixture
    except ImportError as e:
        raise ImportError('PAAHead fits a Gaussian mixture with scikit-learn, which is not installed: '
                          'pip install scikit-learn (or install the optional extras: '
                          'pip install -e ".[optional]")') from e
    return GaussianMixture


def gmm_separation_scheme(assignment, log_density):
    """Positives among candidates sorted by ascending score: those of component
    0 (the low-score one) up to and including the component-0 candidate of the
    highest mixture density (scheme (c) of the paper's Fig. 3, as the original).

    Args:
        assignment (Tensor): (n,) long, the GMM component (0 or 1) of each candidate.
        log_density (Tensor): (n,) the mixture's log density at each candidate.

    Returns:
        Tensor: (n,) bool, the positives.
    """
    positive = torch.zeros_like(assignment, dtype=torch.bool)
    fg = (assignment == 0).nonzero(as_tuple=False).squeeze(1)
    if fg.numel():
        last = int(log_density[fg].argmax())
        positive[fg[:last + 1]] = True
    return positive


def gmm_positives(sorted_scores, covariance_type='diag'):
    """Fit a two-component 1-D Gaussian mixture to ``sorted_scores`` (n,), n >=
    2, ascending, and return which are positive (n,) bool.

    Initialisation as the original: means at the min and max score, unit
    precisions, weights 0.5/0.5.  All three are given, so sklearn's data-driven
    initialisation is discarded; ``init_params='random'`` with a fixed seed
    merely skips the k-means run the default would make (and leaves numpy's
    global random state alone).  The fit runs in float64: in float32 (the
    original) sklearn's 'diag' covariance of a one-sample component can round
    below zero and the fit fails ("ill-defined empirical covariance",
    open-mmlab/mmdetection#4152).
    """
    x = sorted_scores.detach().double().reshape(-1, 1).cpu().numpy()
    precisions = {'full': np.ones((2, 1, 1)), 'diag': np.ones((2, 1)), 'spherical': np.ones(2),
                  'tied': np.ones((1, 1))}[covariance_type]
    gmm = _gaussian_mixture()(2, covariance_type=covariance_type, weights_init=np.array([0.5, 0.5]),
                              means_init=np.array([[x.min()], [x.max()]]), precisions_init=precisions,
                              init_params='random', random_state=0)
    gmm.fit(x)
    assignment = torch.from_numpy(gmm.predict(x)).to(sorted_scores.device)
    log_density = torch.from_numpy(gmm.score_samples(x)).to(sorted_scores.device)
    return gmm_separation_scheme(assignment, log_density)


def _group_sort(keys, values):
    """Indices that order by ``keys``, then by ascending ``values`` within a key."""
    order = torch.argsort(values, stable=True)
    return order[torch.argsort(keys[order], stable=True)]


def paa_reassign(scores, gt_ids, levels, topk, covariance_type='diag'):
    """The second step of PAA: which first-step candidates stay positive.

    Per gt and level the ``topk`` candidates of lowest score are kept; a GMM
    on each gt's kept scores splits them (:func:`gmm_positives`).  A gt with
    fewer than two kept candidates gets no positive (a GMM needs two samples).
    One GMM fit per gt (scikit-learn); everything else is vectorised.

    Args:
        scores (Tensor): (P,) the candidates' losses (lower is better).
        gt_ids (Tensor): (P,) long, the candidate's gt (unique over the batch).
        levels (Tensor): (P,) long, the candidate's pyramid level.
        topk (int): candidates kept per gt and level.
        covariance_type (str): of the GMM, one of 'full', 'tied', 'diag', 'spherical'.

    Returns:
        Tensor: (P,) bool, the positives.
    """
    positive = torch.zeros_like(scores, dtype=torch.bool)
    if scores.numel() == 0:
        return positive
    keys = gt_ids * (int(levels.max()) + 1) + levels
    order = _group_sort(keys, scores)
    _, counts = torch.unique_consecutive(keys[order], return_counts=True)
    starts = torch.repeat_interleave(counts.cumsum(0) - counts, counts)
    kept = order[torch.arange(order.numel(), device=order.device) - starts < topk]
    kept = kept[_group_sort(gt_ids[kept], scores[kept])]
    _, counts = torch.unique_consecutive(gt_ids[kept], return_counts=True)
    for members in kept.split(counts.tolist()):
        if members.numel() >= 2:
            positive[members[gmm_positives(scores[members], covariance_type)]] = True
    return positive


# --------------------------------------------------------------- score voting
def score_voting(det_bboxes, det_labels, mlvl_bboxes, mlvl_nms_scores, score_thr, sigma=0.025, min_iou=0.01):
    """Refine each detection box by its overlapping same-class candidates.

    A detection of class c becomes the average of the candidate boxes of class
    c (``mlvl_nms_scores[:, c] > score_thr``) with IoU > ``min_iou`` to it,
    weighted by ``score * exp(-(1 - IoU)^2 / sigma)``; its score is kept.  As
    the original, the result is ordered by class (detection order within a
    class).

    Args:
        det_bboxes (Tensor): (K, 5) detections after NMS.
        det_labels (Tensor): (K,) their classes.
        mlvl_bboxes (Tensor): (n, 4) all boxes before NMS.
        mlvl_nms_scores (Tensor): (n, C) their scores (no background column).
        score_thr (float): the candidates' score threshold.

    Returns:
        tuple: ``det_bboxes`` (K, 5) and ``det_labels`` (K,).
    """
    order = torch.argsort(det_labels, stable=True)
    det_bboxes, det_labels = det_bboxes[order], det_labels[order]
    ious = bbox_overlaps(det_bboxes[:, :4], mlvl_bboxes)  # (K, n)
    cand_scores = mlvl_nms_scores[:, det_labels].t()  # (K, n): each candidate at the detection's class
    weights = torch.exp(-(1 - ious) ** 2 / sigma) * cand_scores * ((cand_scores > score_thr) & (ious > min_iou))
    total = weights.sum(1, keepdim=True)
    voted = torch.where(total > 0, weights @ mlvl_bboxes / total.clamp(min=EPS), det_bboxes[:, :4])
    return torch.cat([voted, det_bboxes[:, 4:]], dim=1), det_labels


def _images_first(mlvl, channels):
    """Per-level (N, A * channels, H, W) -> (N, sum_levels H * W * A, channels),
    in the anchor order of ``grid_anchors``."""
    return torch.cat([x.permute(0, 2, 3, 1).reshape(x.size(0), -1, channels) for x in mlvl], dim=1)


@HEADS.register_module()
class PAAHead(BaseDenseHead):
    """PAA: ATSS-style towers, probabilistic anchor assignment, IoU prediction
    and score voting.

    Args:
        num_classes (int): categories, without the background.
        in_channels (int): channels of the input feature maps.
        stacked_convs (int): convs of each tower; ``feat_channels`` their width.
        conv_cfg, norm_cfg (dict): of the tower convs (GN by default).
        anchor_generator, bbox_coder (dict): anchors and the delta coder.
        reg_decoded_bbox (bool): must be True (the box loss is on decoded boxes).
        loss_cls (dict): a sigmoid classification loss (Focal Loss).
        loss_bbox (dict): an IoU-type box loss (GIoU).
        loss_centerness (dict): the IoU branch's loss (sigmoid BCE).
        topk (int): candidates kept per gt and level for the GMM.
        score_voting (bool): refine the boxes after NMS by score voting.
        covariance_type (str): of the GMM: 'full', 'tied', 'diag' (default) or
            'spherical' (see ``sklearn.mixture.GaussianMixture``).
        train_cfg (dict): ``assigner`` (MaxIoUAssigner), ``allowed_border``,
            ``pos_weight`` (<= 0: 1; else the classification weight of the positives).
        test_cfg (dict): ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``.

    The defaults are those of ``configs/paa``.
    """

    def __init__(self, num_classes, in_channels, stacked_convs=4, feat_channels=256, conv_cfg=None,
                 norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
                 anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                                       scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                 target_stds=[0.1, 0.1, 0.2, 0.2]),
                 reg_decoded_bbox=True,
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_bbox=dict(type='GIoULoss', loss_weight=1.3),
                 loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.5),
                 topk=9, score_voting=True, covariance_type='diag', train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        if not reg_decoded_bbox:
            raise ValueError('PAAHead: reg_decoded_bbox must be True (the box loss compares decoded boxes '
                             'with the gt boxes)')
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError(f"PAAHead: loss_cls must be a sigmoid loss (use_sigmoid=True), got {loss_cls}")
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f'PAAHead: covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}')
        if not (isinstance(topk, int) and topk >= 1):
            raise ValueError(f'PAAHead: topk must be an int >= 1, got {topk!r}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.stacked_convs, self.feat_channels = stacked_convs, feat_channels
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.cls_out_channels = num_classes
        self.reg_decoded_bbox = reg_decoded_bbox
        self.topk, self.with_score_voting, self.covariance_type = topk, score_voting, covariance_type
        self.anchor_generator = build_anchor_generator(anchor_generator)
        self.num_anchors = self.anchor_generator.num_base_anchors[0]
        self.strides = [s[0] for s in self.anchor_generator.strides]
        self.bbox_coder = build_bbox_coder(bbox_coder)
        self.loss_cls = build_loss(loss_cls)
        self.loss_bbox = build_loss(loss_bbox)
        self.loss_centerness = build_loss(loss_centerness)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if train_cfg:
            self.assigner = build_assigner(train_cfg['assigner'])
        self._init_layers()
        self.init_weights()

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = (conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                                     self.conv_cfg, self.norm_cfg) for _ in range(2))
        self.atss_cls = Conv2d(self.feat_channels, self.num_anchors * self.cls_out_channels, 3, padding=1)
        self.atss_reg = Conv2d(self.feat_channels, self.num_anchors * 4, 3, padding=1)
        self.atss_centerness = Conv2d(self.feat_channels, self.num_anchors * 1, 3, padding=1)  # the IoU branch
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.atss_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.atss_reg, std=0.01)
        normal_init(self.atss_centerness, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward(self, feats):
        """Per-level lists ``(cls_scores, bbox_preds, iou_preds)``: (N, A * C, H, W),
        (N, A * 4, H, W) deltas and (N, A, H, W) IoU logits."""
        outs = [self.forward_single(x, scale) for x, scale in zip(feats, self.scales)]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x, scale):
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        return self.atss_cls(cls_feat), scale(self.atss_reg(reg_feat)).float(), self.atss_centerness(reg_feat)

    # -------------------------------------------------------------------- loss
    def candidate_scores(self, cls_score, bbox_pred, anchors, labels, label_weights, gt_boxes):
        """The PAA score of candidates (P,): classification loss summed over the
        classes plus the box loss of the decoded box, each with its loss weight
        (no averaging).  Inputs are the candidates' (P, C) logits, (P, 4)
        deltas, anchors, labels, label weights and gt boxes."""
        decoded = self.bbox_coder.decode(anchors, bbox_pred)
        loss_cls = self.loss_cls(cls_score, labels, label_weights, reduction_override='none').sum(-1)
        return loss_cls + self.loss_bbox(decoded, gt_boxes, reduction_override='none')

    def loss(self, cls_scores, bbox_preds, iou_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """``dict(loss_cls, loss_bbox, loss_iou)``; inputs as :meth:`forward`'s
        outputs, per image gt boxes (G, 4) and labels (G,)."""
        if not hasattr(self, 'assigner'):
            raise RuntimeError('PAAHead.loss needs a train_cfg with an assigner (MaxIoUAssigner)')
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        device, num_imgs = cls_scores[0].device, len(img_metas)
        mlvl_anchors = self.anchor_generator.grid_anchors(featmap_sizes, device)
        anchors = torch.cat(mlvl_anchors)
        levels = torch.cat([torch.full((len(a),), i, dtype=torch.long, device=device)
                            for i, a in enumerate(mlvl_anchors)])
        ignore = gt_bboxes_ignore if gt_bboxes_ignore is not None else [None] * num_imgs
        train_cfg = self.train_cfg or {}
        # step 1: MaxIoU candidates, per image -> (N, A[, 4])
        valid = [torch.cat(self.anchor_generator.valid_flags(featmap_sizes, meta['pad_shape'], device))
                 for meta in img_metas]
        per_img = [max_iou_candidates(anchors, valid[i], gt_bboxes[i], gt_labels[i], meta, self.assigner,
                                      self.num_classes, ignore[i], train_cfg.get('allowed_border', -1))
                   for i, meta in enumerate(img_metas)]
        labels, label_weights, gt_boxes, gt_index = (torch.stack(t) for t in zip(*per_img))
        cls = _images_first([c.float() for c in cls_scores], self.cls_out_channels)  # (N, A, C)
        reg = _images_first(bbox_preds, 4)  # (N, A, 4)
        iou = _images_first([p.float() for p in iou_preds], 1)[..., 0]  # (N, A)

        # step 2: score the candidates, keep the GMM's positives; the rest become background
        img_i, anc_i = (gt_index >= 0).nonzero(as_tuple=True)
        with torch.no_grad():
            scores = self.candidate_scores(cls[img_i, anc_i], reg[img_i, anc_i], anchors[anc_i],
                                           labels[img_i, anc_i], label_weights[img_i, anc_i],
                                           gt_boxes[img_i, anc_i])
            max_gts = max([len(g) for g in gt_bboxes] + [1])
            keep = paa_reassign(scores, img_i * max_gts + gt_index[img_i, anc_i], levels[anc_i], self.topk,
                                self.covariance_type)
        labels = labels.clone()
        labels[img_i[~keep], anc_i[~keep]] = self.num_classes
        num_pos = int(keep.sum())
        if train_cfg.get('pos_weight', -1) > 0:
            label_weights = label_weights.clone()
            label_weights[img_i[keep], anc_i[keep]] = float(train_cfg['pos_weight'])

        # losses: focal on all anchors; GIoU and IoU-BCE on the positives
        loss_cls = self.loss_cls(cls.reshape(-1, self.cls_out_channels), labels.reshape(-1),
                                 label_weights.reshape(-1), avg_factor=max(num_pos, num_imgs))
        if num_pos:
            pos_img, pos_anc = img_i[keep], anc_i[keep]
            decoded = self.bbox_coder.decode(anchors[pos_anc], reg[pos_img, pos_anc])
            pos_gts = gt_boxes[pos_img, pos_anc]
            iou_target = bbox_overlaps(decoded.detach(), pos_gts, is_aligned=True)
            loss_iou = self.loss_centerness(iou[pos_img, pos_anc][:, None], iou_target[:, None], avg_factor=num_pos)
            loss_bbox = self.loss_bbox(decoded, pos_gts, weight=iou_target.clamp(min=EPS),
                                       avg_factor=iou_target.sum())
        else:
            loss_iou, loss_bbox = iou.sum() * 0, reg.sum() * 0
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_iou=loss_iou)

    # ------------------------------------------------------------------ decode
    def get_bboxes(self, cls_scores, bbox_preds, iou_preds, img_metas, cfg=None, rescale=False, with_nms=True):
        """Per image ``(dets (k, 5), labels (k,))`` ranked by sqrt(cls * IoU),
        score-voted when ``score_voting``; without NMS ``(boxes (n, 4),
        scores (n, C + 1))`` with those scores (background last)."""
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        mlvl_anchors = self.anchor_generator.grid_anchors(featmap_sizes, cls_scores[0].device)
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores = [], []
            for cls, reg, iou, anchors in zip(cls_scores, bbox_preds, iou_preds, mlvl_anchors):
                s = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                d = reg[i].detach().permute(1, 2, 0).reshape(-1, 4)
                q = iou[i].detach().permute(1, 2, 0).reshape(-1).sigmoid()
                s = (s * q[:, None]).sqrt()
                nms_pre = cfg.get('nms_pre', -1)
                if 0 < nms_pre < s.shape[0]:
                    _, top = s.max(dim=1).values.topk(nms_pre)
                    anchors, d, s = anchors[top], d[top], s[top]
                boxes.append(self.bbox_coder.decode(anchors, d, max_shape=meta['img_shape']))
                scores.append(s)
            boxes, scores = torch.cat(boxes), torch.cat(scores)
            if rescale:
                boxes = boxes / boxes.new_tensor(np.asarray(meta['scale_factor'], dtype=np.float32))
            with_bg = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)
            if not with_nms:
                results.append((boxes, with_bg))
                continue
            dets, labels = multiclass_nms(boxes, with_bg, cfg['score_thr'], cfg['nms'], cfg['max_per_img'])
            if self.with_score_voting and len(dets) > 0:
                dets, labels = score_voting(dets, labels, boxes, scores, cfg['score_thr'])
            results.append((dets, labels))
        return results
