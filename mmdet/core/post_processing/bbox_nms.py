import torch

from mmdet.ops import batched_nms


def multiclass_nms(multi_bboxes, multi_scores, score_thr, nms_cfg, max_num=-1, score_factors=None,
                   return_inds=False):
    """Per-class NMS over a shared (n, 4) or per-class (n, 4*C) box set.

    ``multi_scores`` is (n, C + 1), the last column the background.  Returns
    ``dets`` (k, 5) and ``labels`` (k,), at most ``max_num`` (all when <= 0).
    """
    num_classes = multi_scores.size(1) - 1
    if multi_bboxes.shape[1] > 4:
        bboxes = multi_bboxes.view(multi_scores.size(0), -1, 4)
    else:
        bboxes = multi_bboxes[:, None].expand(multi_scores.size(0), num_classes, 4)
    scores = multi_scores[:, :-1]
    # the threshold applies to the class scores; score factors (e.g. ATSS's
    # centerness) multiply in afterwards, as in 2.x
    inds = (scores.reshape(-1) > score_thr).nonzero(as_tuple=False).squeeze(1)
    if score_factors is not None:
        scores = scores * score_factors[:, None]
    labels = torch.arange(num_classes, dtype=torch.long, device=scores.device).view(1, -1).expand_as(scores)
    bboxes, scores, labels = bboxes.reshape(-1, 4), scores.reshape(-1), labels.reshape(-1)
    bboxes, scores, labels = bboxes[inds], scores[inds], labels[inds]
    if inds.numel() == 0:
        dets = multi_bboxes.new_zeros((0, 5))
        return (dets, labels, inds) if return_inds else (dets, labels)
    dets, keep = batched_nms(bboxes, scores, labels, nms_cfg)
    if max_num > 0:
        dets, keep = dets[:max_num], keep[:max_num]
    return (dets, labels[keep], inds[keep]) if return_inds else (dets, labels[keep])
