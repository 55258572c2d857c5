import torch

from mmdet.models.dense_heads.fovea_head import fovea_level_targets


def painted_reference(gt_bboxes_raw, gt_labels_raw, featmap_size, stride, base_len, rng, sigma, num_classes):
    """The original FoveaHead target code of one level, loop for loop."""
    y, x = torch.meshgrid(torch.arange(featmap_size[0]).float(), torch.arange(featmap_size[1]).float(), indexing='ij')
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
