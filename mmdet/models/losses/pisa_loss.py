"""Prime Sample Attention (PISA, Cao et al., "Prime Sample Attention in Object
Detection", CVPR 2020): MMDetection 2.x's ``isr_p`` and ``carl_loss``.

- **ISR-P** (importance-based sample reweighting, positive part): the positives
  are ranked by *IoU-HLR*, a hierarchical local rank.  First, within each gt,
  its positives are ranked by the IoU of their predicted box with the gt
  (rank 0 = best).  Then, within each class, the positives are ordered by that
  local rank first and the IoU second (so every gt's best positive comes before
  any gt's second best).  A positive of class rank ``r`` gets the
  classification weight ``((1 - bias) * w * (n_max - r) / n_max + bias) ** k``
  (``w`` its original weight, ``n_max`` the positive count of the most
  frequent class), and all positive weights are then rescaled so that the
  positives' total classification loss is unchanged.
- **CARL** (classification-aware regression loss): each positive's regression
  loss is weighted by ``(bias + (1 - bias) * p) ** k`` with ``p`` its
  predicted probability of its class, the weights normalised to average 1;
  the gradient flows into the classifier through ``p``.

:func:`isr_p_weights` is the ranking itself, on plain tensors.
"""
import torch

from mmdet.core import bbox_overlaps


def rank_within_groups(values, groups):
    """Descending rank (0 = the largest) of every value among the values of its group.

    Args:
        values (Tensor): (n,) floats.
        groups (Tensor): (n,) integer group ids.

    Returns:
        LongTensor: (n,) ranks; ties keep their input order.
    """
    order = torch.argsort(values, descending=True, stable=True)
    order = order[torch.argsort(groups[order], stable=True)]  # by group, then by value (descending)
    _, counts = torch.unique_consecutive(groups[order], return_counts=True)
    starts = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(order.numel(), device=order.device) - starts
    return ranks


def isr_p_weights(ious, labels, gt_ids, weights, k=2.0, bias=0.0):
    """ISR-P importance weights of the positives, before normalisation.

    Args:
        ious (Tensor): (P,) IoU of each positive's predicted box with its gt.
        labels (Tensor): (P,) class of each positive.
        gt_ids (Tensor): (P,) id of each positive's gt, unique over the batch.
        weights (Tensor): (P,) the positives' original classification weights.
        k (float): power of the mapping.
        bias (float): its floor.

    Returns:
        Tensor: (P,) ``(bias + (1 - bias) * weights * (n_max - r) / n_max) ** k``,
        ``r`` the IoU-HLR of the positive within its class and ``n_max`` the
        largest number of positives of one class.
    """
    num_max = torch.bincount(labels).max().to(ious.dtype)
    num_groups = int(gt_ids.max()) + 1 if gt_ids.numel() else 1
    local_rank = rank_within_groups(ious, labels * num_groups + gt_ids)  # by IoU within each (class, gt)
    # local rank first, IoU (in [0, 1]) second, within the class
    class_rank = rank_within_groups(ious + num_max - local_rank.to(ious.dtype), labels)
    hlr_weights = weights * (num_max - class_rank.to(ious.dtype)) / num_max
    return (bias + hlr_weights * (1 - bias)).pow(k)


def isr_p(cls_score, bbox_pred, bbox_targets, rois, sampling_results, loss_cls, bbox_coder, k=2, bias=0,
          num_class=80):
    """Importance-based Sample Reweighting of the positives (2.x's ``isr_p``).

    Args:
        cls_score (Tensor): (n, C) class logits of all samples of the batch
            (images concatenated in order, each image's samples in anchor order).
        bbox_pred (Tensor): (n, 4) (or (n, C * 4), class-specific) deltas.
        bbox_targets (tuple[Tensor]): ``(labels (n,), label_weights (n,),
            bbox_targets (n, 4), bbox_weights (n, 4))``; ``num_class`` is the
            background label.
        rois (Tensor): (n, 4) anchors, or (n, 5) RoIs.
        sampling_results (list[SamplingResult]): per image; their positives,
            in order, are the batch's positives.
        loss_cls (callable): the classification loss (``reduction_override``).
        bbox_coder: the coder of the deltas (``decode(rois, deltas)``).
        k (float), bias (float): see :func:`isr_p_weights`.
        num_class (int): number of classes.

    Returns:
        tuple[Tensor]: ``(labels, label_weights, bbox_targets, bbox_weights)``
        with the positives' ``label_weights`` replaced by their normalised
        importance weights (a new tensor; the inputs are left as they are).
    """
    labels, label_weights, bbox_targets, bbox_weights = bbox_targets
    pos = ((labels >= 0) & (labels < num_class)).nonzero(as_tuple=False).view(-1)
    if pos.numel() == 0:
        return labels, label_weights, bbox_targets, bbox_weights
    pos_labels = labels[pos]

    # each positive's gt, numbered over the batch
    offsets, gt_ids = 0, []
    for res in sampling_results:
        gt_ids.append(res.pos_assigned_gt_inds + offsets)
        offsets += res.num_gts
    gt_ids = torch.cat(gt_ids)
    if gt_ids.numel() != pos.numel():
        raise ValueError(f'isr_p: the sampling results have {gt_ids.numel()} positives, the labels '
                         f'{pos.numel()}')

    with torch.no_grad():
        cls_score, bbox_pred = cls_score.detach(), bbox_pred.detach()
        pos_rois = rois[pos][:, 1:] if rois.size(-1) == 5 else rois[pos]
        if bbox_pred.size(-1) > 4:  # class-specific deltas
            pos_deltas = bbox_pred.view(bbox_pred.size(0), -1, 4)[pos, pos_labels]
        else:
            pos_deltas = bbox_pred[pos]
        pred_boxes = bbox_coder.decode(pos_rois, pos_deltas)
        target_boxes = bbox_coder.decode(pos_rois, bbox_targets[pos].view(-1, 4))
        ious = bbox_overlaps(pred_boxes, target_boxes, is_aligned=True)

        ori_weights = label_weights[pos]
        imp_weights = isr_p_weights(ious, pos_labels, gt_ids, ori_weights, k=k, bias=bias)
        # keep the positives' total classification loss
        pos_loss = loss_cls(cls_score[pos], pos_labels, reduction_override='none')
        if pos_loss.dim() > 1:
            pos_loss = pos_loss.sum(dim=tuple(range(1, pos_loss.dim())))
        imp_weights = imp_weights * (pos_loss * ori_weights).sum() / (pos_loss * imp_weights).sum()
        label_weights = label_weights.clone()
        label_weights[pos] = imp_weights.to(label_weights.dtype)
    return labels, label_weights, bbox_targets, bbox_weights


def carl_loss(cls_score, labels, bbox_pred, bbox_targets, loss_bbox, k=1, bias=0.2, avg_factor=None,
              sigmoid=False, num_class=80):
    """Classification-Aware Regression Loss (2.x's ``carl_loss``).

    Args:
        cls_score (Tensor): (n, C) logits (sigmoid or softmax classifier).
        labels (Tensor): (n,) classes, ``num_class`` = background.
        bbox_pred (Tensor): (n, 4) or (n, C * 4) deltas.
        bbox_targets (Tensor): (n, 4) target deltas.
        loss_bbox (callable): the regression loss (``reduction_override``).
        k (float): power of the score mapping.
        bias (float): its floor.
        avg_factor (float | None): divisor of the summed loss; None: n.
        sigmoid (bool): class probabilities by sigmoid, else softmax.
        num_class (int): number of classes.

    Returns:
        dict: ``loss_carl``, a scalar; 0 (still connected to ``cls_score``) without positives.
    """
    pos = ((labels >= 0) & (labels < num_class)).nonzero(as_tuple=False).view(-1)
    if pos.numel() == 0:
        return dict(loss_carl=cls_score.sum() * 0.)
    pos_labels = labels[pos]
    probs = cls_score.sigmoid() if sigmoid else cls_score.softmax(-1)
    pos_scores = probs[pos, pos_labels]
    carl_weights = (bias + (1 - bias) * pos_scores).pow(k)
    carl_weights = carl_weights * (pos.numel() / carl_weights.sum())  # average 1 over the positives
    if avg_factor is None:
        avg_factor = bbox_targets.size(0)
    if bbox_pred.size(-1) > 4:
        pos_preds = bbox_pred.view(bbox_pred.size(0), -1, 4)[pos, pos_labels]
    else:
        pos_preds = bbox_pred[pos]
    reg_loss = loss_bbox(pos_preds, bbox_targets[pos], reduction_override='none') / avg_factor
    return dict(loss_carl=(reg_loss * carl_weights[:, None]).sum())
