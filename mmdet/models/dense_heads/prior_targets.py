"""Target assignment over square anchors ("priors"), shared by the ATSS-based heads."""
import torch

from mmdet.core import anchor_inside_flags


def atss_prior_targets(anchor_generator, assigner, featmap_sizes, gt_bboxes, gt_labels, img_meta, num_classes,
                       gt_bboxes_ignore=None, allowed_border=-1):
    """Assign one image's anchors (all levels) with ``assigner`` (ATSS).

    Returns ``anchors`` (A, 4), ``labels`` (A,) with ``num_classes`` for
    background, ``gt_boxes`` (A, 4) the matched gt box (zeros elsewhere) and
    ``label_weights`` (A,): 1 for valid, non-ignored anchors.
    """
    device = gt_bboxes.device
    anchors = anchor_generator.grid_anchors(featmap_sizes, device)
    num_level = [a.size(0) for a in anchors]
    valid = torch.cat(anchor_generator.valid_flags(featmap_sizes, img_meta['pad_shape'], device))
    anchors = torch.cat(anchors)
    inside = anchor_inside_flags(anchors, valid, img_meta['img_shape'], allowed_border)
    num_level_inside = [int(f.sum()) for f in inside.split(num_level)]
    result = assigner.assign(anchors[inside], num_level_inside, gt_bboxes, gt_bboxes_ignore, gt_labels)
    return (anchors, *scatter_assignment(anchors.size(0), inside, result, gt_bboxes, gt_labels, num_classes))


def scatter_assignment(num, inside, result, gt_bboxes, gt_labels, num_classes):
    """Spread an assignment of the ``inside`` priors back to all ``num``:
    labels (``num_classes`` = background), matched gt boxes (zeros elsewhere)
    and label weights (1 for inside, non-ignored priors)."""
    labels = gt_labels.new_full((num,), num_classes)
    gt_boxes = gt_bboxes.new_zeros((num, 4))
    weights = gt_bboxes.new_zeros((num,))
    inside_idx = inside.nonzero(as_tuple=False).squeeze(1)
    pos = inside_idx[result.pos_mask]
    assigned = result.gt_inds[result.pos_mask] - 1
    labels[pos] = gt_labels[assigned]
    gt_boxes[pos] = gt_bboxes[assigned]
    weights[inside_idx[result.gt_inds >= 0]] = 1.0
    return labels, gt_boxes, weights


def levels_first(per_image, counts):
    """[per image (P, ...)] -> (sum P * num_imgs, ...) ordered level, image, position
    (the order of ``torch.cat([x.permute(0, 2, 3, 1).reshape(-1, C) for x in levels])``)."""
    stacked = torch.stack(per_image)
    return torch.cat([lv.reshape(-1, *stacked.shape[2:]) for lv in stacked.split(counts, dim=1)])
