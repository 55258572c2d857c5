"""FreeAnchor (Zhang et al., "FreeAnchor: Learning to Match Anchors for Visual
Object Detection", NeurIPS 2019): MMDetection 2.x's ``FreeAnchorRetinaHead``.

Layers, forward and decoding are :class:`RetinaHead`'s; only the loss differs.
Anchors are not assigned: each gt ``i`` gets a *bag* of the
``pre_anchor_topk`` anchors of highest IoU with it, and the loss is a maximum
likelihood over bags.

- Positive bag loss, per gt: ``alpha * -log(MeanMax(P_ij))`` over its bag, with
  ``P_ij = P_ij^cls * P_ij^loc``, ``P_ij^cls`` the anchor's score of the gt's
  class and ``P_ij^loc = exp(-loss_bbox(deltas_j, encode(anchor_j, gt_i)))``;
  ``MeanMax(x) = sum_j w_j x_j`` with ``w_j`` proportional to ``1 / (1 - x_j)``.
  Summed over gts, divided by the number of gts (at least 1).
- Negative bag loss, per anchor and class: the focal term
  ``(1 - alpha) * p^gamma * -log(1 - p)`` of ``p = P_j^cls * (1 - P{a_j in
  A+})``, where ``P{a_j in A+}`` (no gradient) is the largest, over gts of that
  class, saturated-linear function of the IoU of the anchor's decoded box with
  the gt: 0 up to ``bbox_thr``, 1 at the gt's best IoU.  Summed, divided by
  ``num_gts * pre_anchor_topk`` (at least 1).

Losses: ``positive_bag_loss`` and ``negative_bag_loss``.
"""
import torch
import torch.nn.functional as F

from mmdet.core import bbox_overlaps

from ..builder import HEADS
from .retina_head import RetinaHead

EPS = 1e-12


def saturated_box_prob(object_box_iou, gt_labels, num_classes, bbox_thr):
    """``P{a_j in A+}`` per (anchor, class).

    Args:
        object_box_iou (Tensor): (G, A) IoU of each gt with each anchor's decoded box.
        gt_labels (Tensor): (G,) labels.
        num_classes (int): C.
        bbox_thr (float): IoU at which the probability starts to rise.

    Returns:
        Tensor: (A, C): ``max_{i: label_i = c} clamp((iou_ij - t1) / (t2_i - t1), 0, 1)``,
        ``t1 = bbox_thr``, ``t2_i = max(max_j iou_ij, t1 + 1e-12)``; 0 for classes without gts.
    """
    t1 = bbox_thr
    t2 = object_box_iou.max(dim=1, keepdim=True).values.clamp(min=t1 + 1e-12)
    object_box_prob = ((object_box_iou - t1) / (t2 - t1)).clamp(min=0, max=1)  # (G, A)
    image_box_prob = object_box_prob.new_zeros((num_classes, object_box_prob.size(1)))
    image_box_prob.scatter_reduce_(0, gt_labels.view(-1, 1).expand_as(object_box_prob), object_box_prob,
                                   reduce='amax', include_self=True)
    return image_box_prob.t()


@HEADS.register_module()
class FreeAnchorRetinaHead(RetinaHead):
    """RetinaNet head trained with the FreeAnchor bag losses.

    Args:
        num_classes (int), in_channels (int), stacked_convs (int),
        conv_cfg (dict | None), norm_cfg (dict | None): as :class:`RetinaHead`.
        pre_anchor_topk (int): anchors in each gt's bag.
        bbox_thr (float): the IoU where the saturated linear function leaves 0
            (usually the NMS IoU threshold).
        gamma (float): focal exponent of the negative bag loss.
        alpha (float): weight of the positive bag loss (``1 - alpha`` for the
            negative one).
        **kwargs: as :class:`RetinaHead` (``feat_channels``, ``anchor_generator``,
            ``bbox_coder``, ``loss_bbox`` -- the ``P^loc`` loss, ...).
    """

    def __init__(self, num_classes, in_channels, stacked_convs=4, conv_cfg=None, norm_cfg=None, pre_anchor_topk=50,
                 bbox_thr=0.6, gamma=2.0, alpha=0.5, **kwargs):
        super().__init__(num_classes, in_channels, stacked_convs=stacked_convs, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, **kwargs)
        if self.use_vfl or not self.use_sigmoid_cls:
            raise ValueError('FreeAnchorRetinaHead needs a sigmoid classifier (no VFL, use_sigmoid=True)')
        self.pre_anchor_topk = pre_anchor_topk
        self.bbox_thr = bbox_thr
        self.gamma = gamma
        self.alpha = alpha

    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """The bag losses.

        Args:
            cls_scores (list[Tensor]): per level (N, A * C, H, W).
            bbox_preds (list[Tensor]): per level (N, A * 4, H, W).
            gt_bboxes (list[Tensor]): per image (G_i, 4).
            gt_labels (list[Tensor]): per image (G_i,).
            img_metas (list[dict]): per image meta information.
            gt_bboxes_ignore: unused (as in 2.x).

        Returns:
            dict[str, Tensor]: ``positive_bag_loss`` and ``negative_bag_loss``.
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.anchor_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels for {self.anchor_generator.num_levels} '
                             'anchor generator levels')
        anchor_list, _ = self.get_anchors(featmap_sizes, img_metas, device=cls_scores[0].device)
        anchors = [torch.cat(anchor) for anchor in anchor_list]  # per image (A, 4)

        num_imgs = cls_scores[0].size(0)
        cls_scores = torch.cat([c.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels)
                                for c in cls_scores], dim=1)  # (N, A, C)
        bbox_preds = torch.cat([b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) for b in bbox_preds], dim=1)
        cls_prob = torch.sigmoid(cls_scores)

        box_prob, positive_losses, num_pos = [], [], 0
        for anchors_, gt_labels_, gt_bboxes_, cls_prob_, bbox_preds_ in zip(anchors, gt_labels, gt_bboxes,
                                                                          cls_prob, bbox_preds):
            with torch.no_grad():
                if len(gt_bboxes_) == 0:
                    image_box_prob = cls_prob_.new_zeros((anchors_.size(0), self.cls_out_channels))
                else:
                    pred_boxes = self.bbox_coder.decode(anchors_, bbox_preds_)
                    image_box_prob = saturated_box_prob(bbox_overlaps(gt_bboxes_, pred_boxes), gt_labels_,
                                                        self.cls_out_channels, self.bbox_thr)
                box_prob.append(image_box_prob)

            # each gt's bag: its top-k anchors by IoU, (G, k)
            topk = min(self.pre_anchor_topk, anchors_.size(0))
            _, matched = torch.topk(bbox_overlaps(gt_bboxes_, anchors_), topk, dim=1, sorted=False)
            matched_cls_prob = cls_prob_[matched, gt_labels_.view(-1, 1)]  # P_ij^cls, (G, k)
            matched_anchors = anchors_[matched]  # (G, k, 4)
            targets = self.bbox_coder.encode(matched_anchors.reshape(-1, 4),
                                             gt_bboxes_.unsqueeze(1).expand_as(matched_anchors).reshape(-1, 4))
            loss_bbox = self.loss_bbox(bbox_preds_[matched].reshape(-1, 4), targets, reduction_override='none')
            matched_box_prob = torch.exp(-loss_bbox.sum(-1)).view(matched.shape)  # P_ij^loc, (G, k)
            num_pos += len(gt_bboxes_)
            positive_losses.append(self.positive_bag_loss(matched_cls_prob, matched_box_prob))

        positive_loss = torch.cat(positive_losses).sum() / max(1, num_pos)
        negative_loss = self.negative_bag_loss(cls_prob, torch.stack(box_prob)).sum() / max(
            1, num_pos * self.pre_anchor_topk)
        if num_pos == 0:  # keep the regression branch in the graph
            positive_loss = bbox_preds.sum() * 0
        return dict(positive_bag_loss=positive_loss, negative_bag_loss=negative_loss)

    def positive_bag_loss(self, matched_cls_prob, matched_box_prob):
        """``alpha * -log(MeanMax(P^cls * P^loc))`` per gt.

        Args:
            matched_cls_prob (Tensor): (G, k) class probabilities of the bag.
            matched_box_prob (Tensor): (G, k) box probabilities of the bag.

        Returns:
            Tensor: (G,).
        """
        matched_prob = matched_cls_prob * matched_box_prob
        weight = 1 / torch.clamp(1 - matched_prob, 1e-12, None)
        weight = weight / weight.sum(dim=1, keepdim=True)
        bag_prob = (weight * matched_prob).sum(dim=1)
        return self.alpha * F.binary_cross_entropy(bag_prob, torch.ones_like(bag_prob), reduction='none')

    def negative_bag_loss(self, cls_prob, box_prob):
        """``(1 - alpha) * p^gamma * -log(1 - p)``, ``p = P^cls * (1 - P{a in A+})``.

        Args:
            cls_prob (Tensor): (N, A, C).
            box_prob (Tensor): (N, A, C).

        Returns:
            Tensor: (N, A, C).
        """
        prob = (cls_prob * (1 - box_prob)).clamp(min=EPS, max=1 - EPS)
        loss = prob ** self.gamma * F.binary_cross_entropy(prob, torch.zeros_like(prob), reduction='none')
        return (1 - self.alpha) * loss
