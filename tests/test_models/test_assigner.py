import torch

from mmdet.core import ATSSAssigner, bbox_overlaps, fcos_assign


def test_atss_hand_made():
    # four 10x10 anchors along x, one level
    anchors = torch.tensor([[0., 0., 10., 10.], [10., 0., 20., 10.], [20., 0., 30., 10.], [30., 0., 40., 10.]])
    gts = torch.tensor([[0., 0., 20., 10.],    # covers anchors 0, 1 with IoU 0.5
                        [20., 0., 40., 10.],   # covers anchors 2, 3
                        [0., 0., 20., 12.]])   # also wants 0, 1 (IoU 0.417): loses to gt 0
    labels = torch.tensor([4, 7, 9])
    res = ATSSAssigner(topk=2).assign(anchors, [4], gts, None, labels)
    assert res.gt_inds.tolist() == [1, 1, 2, 2]
    assert res.labels.tolist() == [4, 4, 7, 7]


def test_atss_empty_gt():
    anchors = torch.rand(6, 4) * 10
    anchors[:, 2:] += anchors[:, :2]
    res = ATSSAssigner(topk=3).assign(anchors, [6], torch.zeros(0, 4), None, torch.zeros(0, dtype=torch.long))
    assert res.gt_inds.tolist() == [0] * 6 and res.labels.tolist() == [-1] * 6


def loop_reference(bboxes, num_level, gts, topk):
    """The original per-gt algorithm, written as plainly as possible."""
    overlaps = bbox_overlaps(bboxes, gts)
    centres = (bboxes[:, :2] + bboxes[:, 2:]) / 2
    gt_c = (gts[:, :2] + gts[:, 2:]) / 2
    best = torch.full((len(bboxes),), -1.0)
    assigned = torch.zeros(len(bboxes), dtype=torch.long)
    for g in range(len(gts)):
        cands, start = [], 0
        for n in num_level:
            d = (centres[start:start + n] - gt_c[g]).norm(dim=1)
            cands += (d.topk(min(topk, n), largest=False).indices + start).tolist()
            start += n
        ious = overlaps[cands, g]
        thr = ious.mean() + ious.std()
        for i, iou in zip(cands, ious):
            cx, cy = centres[i]
            inside = min(cx - gts[g, 0], cy - gts[g, 1], gts[g, 2] - cx, gts[g, 3] - cy) > 0.01
            if iou >= thr and inside and iou > best[i]:
                best[i], assigned[i] = iou, g + 1
    return assigned


def test_atss_matches_loop_reference_on_random_scenes():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        levels = [30, 12, 5]
        xy = torch.rand(sum(levels), 2, generator=g) * 100
        wh = torch.cat([torch.full((n, 2), s) for n, s in zip(levels, (8., 20., 50.))])
        anchors = torch.cat([xy - wh / 2, xy + wh / 2], 1)
        gxy = torch.rand(4, 2, generator=g) * 100
        gwh = torch.rand(4, 2, generator=g) * 50 + 5
        gts = torch.cat([gxy, gxy + gwh], 1)
        res = ATSSAssigner(topk=5).assign(anchors, levels, gts)
        assert torch.equal(res.gt_inds, loop_reference(anchors, levels, gts, 5))
        pos = res.gt_inds > 0
        c = (anchors[pos, :2] + anchors[pos, 2:]) / 2
        box = gts[res.gt_inds[pos] - 1]
        assert ((c > box[:, :2]) & (c < box[:, 2:])).all()  # every positive's centre is inside its gt


def test_fcos_assign_smallest_area_and_range():
    points = torch.tensor([[5., 5.], [50., 50.], [90., 90.]])
    ranges = torch.tensor([[-1., 64.], [-1., 64.], [64., 1e8]])
    gts = torch.tensor([[0., 0., 60., 60.], [0., 0., 20., 20.], [0., 0., 100., 100.]])
    labels = torch.tensor([0, 1, 2])
    lab, tgt = fcos_assign(points, ranges, torch.tensor([8., 8., 32.]), gts, labels, num_classes=3)
    # point 0 is inside all three; gt 2's max distance 95 is out of range [-1, 64]; gt 1 is the smallest
    assert lab.tolist() == [1, 0, 2]
    assert tgt[0].tolist() == [5., 5., 15., 15.]
    lab, _ = fcos_assign(points, ranges, torch.tensor([8., 8., 32.]), gts[:0], labels[:0], num_classes=3)
    assert lab.tolist() == [3, 3, 3]


def max_iou_loop(anchors, gts, pos_thr, neg_thr, min_pos):
    """The original MaxIoUAssigner, loop for loop."""
    ov = bbox_overlaps(gts, anchors)
    inds = torch.full((len(anchors),), -1, dtype=torch.long)
    mo, am = ov.max(0)
    inds[(mo >= 0) & (mo < neg_thr)] = 0
    inds[mo >= pos_thr] = am[mo >= pos_thr] + 1
    gmax = ov.max(1).values
    for i in range(len(gts)):
        if gmax[i] >= min_pos:
            inds[ov[i] == gmax[i]] = i + 1
    return inds


def test_max_iou_matches_loop_reference():
    from mmdet.core import MaxIoUAssigner
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        xy = torch.rand(60, 2, generator=g) * 100
        anchors = torch.cat([xy, xy + torch.rand(60, 2, generator=g) * 40 + 4], 1)
        gxy = torch.rand(5, 2, generator=g) * 100
        gts = torch.cat([gxy, gxy + torch.rand(5, 2, generator=g) * 40 + 4], 1)
        gts[1] = gts[0]  # identical gts: the later one wins the low-quality matches
        res = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0).assign(anchors, gts)
        assert torch.equal(res.gt_inds, max_iou_loop(anchors, gts, 0.5, 0.4, 0.0))


def point_assign_loop(points, gts, scale, pos_num):
    """The original PointAssigner, loop for loop."""
    xy, stride = points[:, :2], points[:, 2]
    lvl = torch.log2(stride).int()
    gxy = (gts[:, :2] + gts[:, 2:]) / 2
    gwh = (gts[:, 2:] - gts[:, :2]).clamp(min=1e-6)
    glvl = ((torch.log2(gwh[:, 0] / scale) + torch.log2(gwh[:, 1] / scale)) / 2).int().clamp(lvl.min(), lvl.max())
    inds = torch.zeros(len(points), dtype=torch.long)
    rec = torch.full((len(points),), float('inf'))
    rng = torch.arange(len(points))
    for i in range(len(gts)):
        m = glvl[i] == lvl
        d = ((xy[m] - gxy[[i]]) / gwh[[i]]).norm(dim=1)
        md, mi = torch.topk(d, pos_num, largest=False)
        pi = rng[m][mi]
        less = md < rec[pi]
        inds[pi[less]] = i + 1
        rec[pi[less]] = md[less]
    return inds


def test_point_assigner_matches_loop_reference():
    from mmdet.core import grid_points
    from mmdet.core.bbox.assigners import PointAssigner
    pts = torch.cat([torch.cat([grid_points((h, w), s), torch.full((h * w, 1), float(s))], 1)
                     for (h, w), s in (((16, 16), 8), ((8, 8), 16), ((4, 4), 32))])
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        xy = torch.rand(6, 2, generator=g) * 100
        gts = torch.cat([xy, xy + torch.rand(6, 2, generator=g) * 60 + 4], 1)
        gts[3] = gts[2]  # two gts claim the same points: the first keeps them
        res = PointAssigner(scale=4, pos_num=2).assign(pts, gts)
        assert torch.equal(res.gt_inds, point_assign_loop(pts, gts, 4, 2))
