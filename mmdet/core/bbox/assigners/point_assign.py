import torch

INF = 100000000


def fcos_assign(points, regress_ranges, level_strides, gt_bboxes, gt_labels, num_classes,
                center_sampling=False, center_sample_radius=1.5):
    """FCOS target assignment of one image, vectorised over points and gts.

    ``points`` (P, 2) of all levels, ``regress_ranges`` (P, 2) the (min, max)
    of the largest regression distance allowed at each point's level,
    ``level_strides`` (P,) each point's stride.  A point is positive for a gt
    when it lies inside the gt (or, with centre sampling, within
    ``radius * stride`` of its centre, clipped to the gt) and the gt's largest
    distance fits the range; among several such gts the smallest by area wins.

    Returns ``labels`` (P,) with ``num_classes`` for background and
    ``bbox_targets`` (P, 4) as (l, t, r, b) distances.
    """
    num_points, num_gts = points.size(0), gt_labels.size(0)
    if num_gts == 0:
        return gt_labels.new_full((num_points,), num_classes), gt_bboxes.new_zeros((num_points, 4))
    areas = ((gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1]))[None].repeat(num_points, 1)
    boxes = gt_bboxes[None].expand(num_points, num_gts, 4)
    xs = points[:, 0, None].expand(num_points, num_gts)
    ys = points[:, 1, None].expand(num_points, num_gts)
    bbox_targets = torch.stack((xs - boxes[..., 0], ys - boxes[..., 1], boxes[..., 2] - xs, boxes[..., 3] - ys), -1)
    if center_sampling:
        cx = (boxes[..., 0] + boxes[..., 2]) / 2
        cy = (boxes[..., 1] + boxes[..., 3]) / 2
        r = (level_strides * center_sample_radius)[:, None].to(cx)
        x1 = torch.where(cx - r > boxes[..., 0], cx - r, boxes[..., 0])
        y1 = torch.where(cy - r > boxes[..., 1], cy - r, boxes[..., 1])
        x2 = torch.where(cx + r > boxes[..., 2], boxes[..., 2], cx + r)
        y2 = torch.where(cy + r > boxes[..., 3], boxes[..., 3], cy + r)
        inside = torch.stack((xs - x1, ys - y1, x2 - xs, y2 - ys), -1).min(-1).values > 0
    else:
        inside = bbox_targets.min(-1).values > 0
    max_dist = bbox_targets.max(-1).values
    in_range = (max_dist >= regress_ranges[:, None, 0]) & (max_dist <= regress_ranges[:, None, 1])
    areas[~inside] = INF
    areas[~in_range] = INF
    min_area, min_area_inds = areas.min(dim=1)
    labels = gt_labels[min_area_inds]
    labels[min_area == INF] = num_classes
    bbox_targets = bbox_targets[torch.arange(num_points, device=points.device), min_area_inds]
    return labels, bbox_targets
