"""Sliced inference for large images with small objects (as SAHI, https://arxiv.org/abs/2202.06934).

A large image is cut into overlapping tiles (``slice_size``, ``overlap``; the last tile of a row or
column is aligned to the image border); the tiles go through the detector in batches (each tile resized by
the config's test pipeline, so small objects are seen bigger), their detections are shifted back to image
coordinates and merged with those of an optional full-image pass:

1. a detection that touches an *inner* tile border (an edge of its tile that is not the image border) may
   be the part of an object cut by that border: it is a *cut* candidate; every other detection is *whole*;
2. the whole detections go through the config's ``test_cfg.nms`` per class (NMS or soft-NMS): duplicates
   of an object seen whole by several overlapping tiles (and by the full-image pass) become one;
3. non-maximum merging (SAHI's GREEDYNMM) of the cut candidates with the rest: in score order, a box
   takes every lower-scored box of its class that matches it where at least one of the two is a cut
   candidate, and becomes their union box, with its own (the highest) score.  A candidate matches a box
   whose part inside the candidate's tile has an IoU of ``merge_iou`` or more with it (``'clipped_iou'``;
   SAHI's intersection over the smaller box ``'ios'`` and ``'iou'`` are there too): a part of an object
   matches the whole box of the object from a neighbouring tile (cut to the part's tile it *is* the part),
   and two parts of one object cut by two tiles match across the overlap, but a part does not merge into
   a much bigger box that merely holds it (a low-scored false detection would otherwise swallow it).

    from mmdet.apis import init_detector
    from mmdet.apis.sliced_inference import sliced_inference
    model = init_detector('configs/vfnet/vfnet_r50_fpn_1x_coco.py', 'vfnet_r50.pth')
    result = sliced_inference(model, 'big.jpg', slice_size=(512, 512), overlap=0.2)  # 2.x result
"""
import os

import numpy as np
import torch

from mmdet.datasets.pipelines.loading import imread
from mmdet.ops import batched_nms

from .inference import build_test_pipelines, inference_batch, prepare_test_data

MERGE_METRICS = ('clipped_iou', 'ios', 'iou')


# ------------------------------------------------------------------------------------------------ tiles

def _pair(value, what, check):
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(check(v) for v in pair):
        raise ValueError(f'{what} must be one value or a (width, height) pair of {check.__doc__}, got {value!r}')
    return pair


def _positive_int(v):
    """positive ints"""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0


def _ratio(v):
    """numbers in [0, 1)"""
    return isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and 0 <= v < 1


def _starts(length, size, overlap):
    """Tile starts along one axis: every ``size * (1 - overlap)`` pixels, the last at ``length - size``."""
    if size >= length:
        return [0]
    step = max(1, int(round(size * (1 - overlap))))
    return list(range(0, length - size, step)) + [length - size]


def slice_grid(height, width, slice_size=(512, 512), overlap=0.2):
    """The tiles covering a ``height`` x ``width`` image.

    Args:
        height, width (int): the image size.
        slice_size (int | tuple[int, int]): tile (width, height); a tile is cut to the image where the
            image is smaller.
        overlap (float | tuple[float, float]): the share of a tile (along x, along y) that the next tile
            overlaps, in [0, 1); the last tile of each row and column is aligned to the image border, so
            it may overlap more.

    Returns:
        np.ndarray: (n, 4) int64 tiles ``[x1, y1, x2, y2]`` (x2, y2 exclusive), row by row.
    """
    sw, sh = _pair(slice_size, 'slice_size', _positive_int)
    ow, oh = _pair(overlap, 'overlap', _ratio)
    xs, ys = _starts(width, sw, ow), _starts(height, sh, oh)
    tiles = [(x, y, min(x + sw, width), min(y + sh, height)) for y in ys for x in xs]
    return np.asarray(tiles, dtype=np.int64).reshape(-1, 4)


def _cut_mask(boxes, tile, height, width, tol):
    """(k,) bool: ``boxes`` (k, 4, image coordinates) that touch, within ``tol`` pixels, an edge of
    ``tile`` (x1, y1, x2, y2) that lies inside the image."""
    x1, y1, x2, y2 = (float(v) for v in tile)
    inner = np.array([x1 > 0, y1 > 0, x2 < width, y2 < height])
    touch = np.stack([boxes[:, 0] <= x1 + tol, boxes[:, 1] <= y1 + tol,
                      boxes[:, 2] >= x2 - tol, boxes[:, 3] >= y2 - tol], axis=1)
    return (touch & inner).any(axis=1)


def _flatten(result):
    """A 2.x result as (k, 4) boxes, (k,) scores, (k,) labels."""
    blocks = [np.asarray(r, np.float32).reshape(-1, 5) for r in result]
    dets = np.concatenate(blocks) if blocks else np.zeros((0, 5), np.float32)
    labels = np.repeat(np.arange(len(blocks), dtype=np.int64), [len(b) for b in blocks])
    return dets[:, :4], dets[:, 4], labels


# ---------------------------------------------------------------------------------------------- merging

def _areas(boxes):
    return (boxes[..., 2:] - boxes[..., :2]).clamp(min=0).prod(-1)


def pairwise_overlap(boxes1, boxes2, metric='ios'):
    """(n, m) overlaps of ``boxes1`` (n, 4) and ``boxes2`` (m, 4): intersection over the smaller box's
    area (``'ios'``) or IoU (``'iou'``); 0 where the denominator is 0."""
    if metric not in ('ios', 'iou'):
        raise ValueError(f"pairwise_overlap: metric must be 'ios' or 'iou', got {metric!r}")
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area1, area2 = _areas(boxes1), _areas(boxes2)
    if metric == 'ios':
        denom = torch.minimum(area1[:, None], area2[None, :])
    else:
        denom = area1[:, None] + area2[None, :] - inter
    return torch.where(denom > 0, inter / denom.clamp(min=1e-12), torch.zeros_like(inter))


def clipped_overlap(parts, tiles, boxes):
    """(c, n) IoU of each ``parts[i]`` (c, 4), a detection in tile ``tiles[i]`` (c, 4), with the part of
    each of ``boxes`` (n, 4) inside that tile: 1 for a part of an object that another tile saw whole (the
    whole box cut to the part's tile is the part); for two parts of one object cut by two tiles, the share
    of a part inside the other's tile; small for a box much bigger than the part."""
    lo = torch.maximum(boxes[None, :, :2], tiles[:, None, :2])
    hi = torch.maximum(torch.minimum(boxes[None, :, 2:], tiles[:, None, 2:]), lo)
    lt = torch.maximum(parts[:, None, :2], lo)
    rb = torch.minimum(parts[:, None, 2:], hi)
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = _areas(parts)[:, None] + (hi - lo).prod(-1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def greedy_nmm(boxes, scores, labels, mergeable, merge_thr=0.5, metric='clipped_iou', tiles=None):
    """Greedy non-maximum merging (SAHI's GREEDYNMM) restricted to pairs with a ``mergeable`` box.

    In descending score order, each box not yet merged into another takes every lower-scored, not yet
    merged box of its label that matches it, provided one of the two is ``mergeable``; it becomes the union
    box of them all and keeps its score.  A mergeable box ``i`` matches box ``j`` when their overlap is at
    least ``merge_thr``: ``'clipped_iou'`` the IoU of ``i`` with the part of ``j`` inside ``i``'s tile
    (:func:`clipped_overlap`), ``'ios'`` intersection over the smaller box, ``'iou'`` IoU (SAHI's metrics;
    they also merge a part into any bigger box that holds it).  The overlaps are computed at once,
    mergeable boxes (c) against all (n): a (c, n) matrix, never (n, n); only the sweep over the boxes that
    have a match is sequential (as in NMS, a merge decides what is left for the next box).

    Args:
        boxes (Tensor): (n, 4) ``[x1, y1, x2, y2]``.
        scores (Tensor): (n,).
        labels (Tensor): (n,) int class of each box; only boxes of one class merge.
        mergeable (Tensor): (n,) bool.
        merge_thr (float): least overlap of a merge.
        metric (str): ``'clipped_iou'``, ``'ios'`` or ``'iou'``.
        tiles (Tensor, optional): (n, 4) the tile of each box (needed by ``'clipped_iou'``, read for the
            mergeable boxes).

    Returns:
        tuple: ``boxes`` (k, 4), ``scores`` (k,), ``labels`` (k,) of the kept boxes, in descending score
        order; ``keep`` (k,), the input index of each kept box (its highest-scored member); ``members``
        (n,) long: for each input box, the index (into the outputs) of the box it ended in.
    """
    if metric not in MERGE_METRICS:
        raise ValueError(f'merge metric must be one of {MERGE_METRICS}, got {metric!r}')
    if metric == 'clipped_iou' and tiles is None:
        raise ValueError("greedy_nmm: metric 'clipped_iou' needs the tiles of the boxes")
    n = boxes.shape[0]
    order = torch.argsort(scores, descending=True, stable=True)
    boxes, scores, labels, mergeable = boxes[order], scores[order], labels[order], mergeable[order]
    owner = torch.arange(n, device=boxes.device)
    cut = mergeable.nonzero(as_tuple=False).squeeze(1)
    if n and cut.numel():
        if metric == 'clipped_iou':
            overlap = clipped_overlap(boxes[cut], tiles[order][cut].to(boxes.dtype), boxes)
        else:
            overlap = pairwise_overlap(boxes[cut], boxes, metric)
        match = (overlap >= merge_thr) & (labels[cut][:, None] == labels[None, :])
        match[torch.arange(cut.numel(), device=boxes.device), cut] = False
        rows, cols = match.nonzero(as_tuple=True)
        a, b = cut[rows], cols  # one of them mergeable; the pair as (higher, lower) in score order
        pairs = torch.stack([torch.minimum(a, b), torch.maximum(a, b)], 1)
        pairs = torch.unique(pairs, dim=0).cpu().numpy() if len(pairs) else np.zeros((0, 2), np.int64)
        owner_np = np.arange(n)
        starts = np.searchsorted(pairs[:, 0], np.arange(n + 1))  # pairs are sorted by the higher-scored box
        for keeper in np.unique(pairs[:, 0]):
            if owner_np[keeper] != keeper:  # merged into a better box already
                continue
            partners = pairs[starts[keeper]:starts[keeper + 1], 1]
            partners = partners[owner_np[partners] == partners]
            owner_np[partners] = keeper
        owner = torch.from_numpy(owner_np).to(boxes.device)
    kept = (owner == torch.arange(n, device=boxes.device)).nonzero(as_tuple=False).squeeze(1)
    new_index = torch.full((n,), -1, dtype=torch.long, device=boxes.device)
    new_index[kept] = torch.arange(kept.numel(), device=boxes.device)
    group = new_index[owner]
    merged = boxes.new_zeros((kept.numel(), 4))
    merged[:, :2] = boxes.new_full((kept.numel(), 2), float('inf')).scatter_reduce(
        0, group[:, None].expand(-1, 2), boxes[:, :2], 'amin')
    merged[:, 2:] = boxes.new_full((kept.numel(), 2), float('-inf')).scatter_reduce(
        0, group[:, None].expand(-1, 2), boxes[:, 2:], 'amax')
    members = torch.empty_like(group)
    members[order] = group
    return merged, scores[kept], labels[kept], order[kept], members


def merge_sliced_detections(boxes, scores, labels, cut, nms_cfg, merge_thr=0.5, metric='clipped_iou', tiles=None):
    """Merge the detections of overlapping tiles (and a full-image pass) of one image.

    The whole detections (``~cut``) go through ``nms_cfg`` per class (:func:`mmdet.ops.batched_nms`: NMS
    or soft-NMS, soft-NMS's decayed scores kept); then :func:`greedy_nmm` merges the ``cut`` candidates with
    the kept whole ones and with each other, and again, until nothing merges, the cut candidates left with
    the merged boxes (which count as whole): the four parts of an object cut by the corner of four tiles
    end in one box even where the two diagonal parts overlap too little to merge directly.

    Args:
        boxes (Tensor): (n, 4) in image coordinates.
        scores (Tensor): (n,).
        labels (Tensor): (n,) long.
        cut (Tensor): (n,) bool, the detections touching an inner tile border.
        nms_cfg (dict): e.g. ``dict(type='nms', iou_threshold=0.6)``.
        merge_thr (float), metric (str): see :func:`greedy_nmm`.
        tiles (Tensor, optional): (n, 4) the tile each detection comes from (for ``'clipped_iou'``).

    Returns:
        tuple: ``boxes`` (k, 4), ``scores`` (k,), ``labels`` (k,), best score first.
    """
    if tiles is None:
        tiles = boxes.new_zeros((len(boxes), 4))
    whole = (~cut).nonzero(as_tuple=False).squeeze(1)
    dets, keep = batched_nms(boxes[whole], scores[whole], labels[whole], nms_cfg)
    keep = whole[keep]
    part = cut.nonzero(as_tuple=False).squeeze(1)
    boxes = torch.cat([dets[:, :4], boxes[part]])
    scores = torch.cat([dets[:, 4], scores[part]])
    labels = torch.cat([labels[keep], labels[part]])
    tiles = torch.cat([tiles[keep], tiles[part]])
    mergeable = torch.cat([cut.new_zeros(keep.numel()), cut.new_ones(part.numel())])
    while True:  # each round leaves fewer boxes, or ends
        merged, new_scores, new_labels, kept, members = greedy_nmm(boxes, scores, labels, mergeable, merge_thr,
                                                                   metric, tiles)
        if len(new_scores) == len(scores):
            return merged, new_scores, new_labels
        alone = torch.bincount(members, minlength=len(new_scores)) == 1
        boxes, scores, labels, tiles = merged, new_scores, new_labels, tiles[kept]
        mergeable = mergeable[kept] & alone


# -------------------------------------------------------------------------------------------- inference

def default_nms_cfg(model):
    """The NMS config of ``model``'s ``test_cfg`` (the detector's, else its config's)."""
    sources = [getattr(model, 'test_cfg', None)]
    cfg = getattr(model, 'cfg', None)
    if cfg is not None:
        sources += [cfg.get('model', {}).get('test_cfg'), cfg.get('test_cfg')]
    for test_cfg in sources:
        if test_cfg is not None and test_cfg.get('nms') is not None:
            return dict(test_cfg['nms'])
    raise ValueError(f'sliced_inference: {type(model).__name__} has no test_cfg.nms (neither the model nor its '
                     "config's model.test_cfg); pass nms_cfg=dict(type='nms', iou_threshold=0.6)")


def _load_image(img):
    if isinstance(img, np.ndarray):
        if img.ndim != 3 or img.shape[2] != 3 or not img.size:
            raise ValueError(f'sliced_inference: an image array is (H, W, 3) BGR, got shape {img.shape}')
        return img
    if not isinstance(img, (str, os.PathLike)):
        raise TypeError(f'sliced_inference: an image is a file path or a BGR numpy array, got {type(img).__name__}')
    return imread(os.fspath(img))


def sliced_inference(model, img, slice_size=(512, 512), overlap=0.2, batch_size=4, full_image=True, nms_cfg=None,
                     merge_iou=0.5, merge_metric='clipped_iou', border_tol=2.0, max_per_img=None, pipelines=None):
    """Detect in a large image tile by tile, and merge the tiles' detections into one 2.x result.

    Args:
        model: a detector from :func:`mmdet.apis.init_detector` (with ``cfg``), in eval mode.
        img (str | np.ndarray): an image file or a BGR (H, W, 3) array.
        slice_size (int | tuple[int, int]): tile (width, height) in image pixels.
        overlap (float | tuple[float, float]): the share of a tile its neighbour overlaps, in [0, 1)
            (along x, along y); objects smaller than the overlap are whole in some tile.
        batch_size (int): tiles per forward pass (:func:`mmdet.apis.inference.inference_batch`).
        full_image (bool): also detect on the whole image (resized by the test pipeline), for the large
            objects no tile holds; its detections merge with the tiles'.
        nms_cfg (dict, optional): the NMS of the whole detections (default: the model's ``test_cfg.nms``,
            NMS or soft-NMS).
        merge_iou (float): least overlap (``merge_metric``) of a cut candidate with another box of its
            class for the two to merge into their union box.
        merge_metric (str): ``'clipped_iou'`` (the IoU of the candidate with the part of the other box
            inside the candidate's tile), or SAHI's ``'ios'`` (intersection over the smaller box) or
            ``'iou'``; see :func:`greedy_nmm`.
        border_tol (float): a detection within this many pixels of an inner tile border is a cut
            candidate.
        max_per_img (int, optional): keep at most this many detections, the best (default: all).
        pipelines (dict, optional): from :func:`mmdet.apis.inference.build_test_pipelines`, to build them
            once for many images.

    Returns:
        list[np.ndarray]: the 2.x result, a list over classes of (k, 5) float32 ``[x1, y1, x2, y2, score]``
        arrays in image pixels, best first.
    """
    if not _positive_int(batch_size):
        raise ValueError(f'sliced_inference: batch_size must be a positive int, got {batch_size!r}')
    if not 0 <= merge_iou <= 1:
        raise ValueError(f'sliced_inference: merge_iou must be in [0, 1], got {merge_iou!r}')
    if merge_metric not in MERGE_METRICS:
        raise ValueError(f'sliced_inference: merge_metric must be one of {MERGE_METRICS}, got {merge_metric!r}')
    nms_cfg = default_nms_cfg(model) if nms_cfg is None else dict(nms_cfg)
    image = _load_image(img)
    height, width = image.shape[:2]
    tiles = slice_grid(height, width, slice_size, overlap)
    pipelines = build_test_pipelines(model.cfg) if pipelines is None else pipelines
    parts, num_classes = [], None  # (boxes, scores, labels, cut) per pass
    for start in range(0, len(tiles), batch_size):
        chunk = tiles[start:start + batch_size]
        items = [prepare_test_data(model.cfg, np.ascontiguousarray(image[y1:y2, x1:x2]), pipelines)
                 for x1, y1, x2, y2 in chunk]
        for tile, result in zip(chunk, inference_batch(model, items)):
            num_classes = len(result)
            boxes, scores, labels = _flatten(result)
            boxes = boxes + np.array([tile[0], tile[1], tile[0], tile[1]], np.float32)
            parts.append((boxes, scores, labels, _cut_mask(boxes, tile, height, width, border_tol),
                          np.repeat(tile[None].astype(np.float32), len(boxes), 0)))
    if full_image and len(tiles) > 1:
        (result,) = inference_batch(model, [prepare_test_data(model.cfg, image, pipelines)])
        boxes, scores, labels = _flatten(result)
        parts.append((boxes, scores, labels, np.zeros(len(boxes), bool),
                      np.repeat(np.array([[0, 0, width, height]], np.float32), len(boxes), 0)))
    boxes, scores, labels, cut, tile_of = (torch.from_numpy(np.concatenate(p)) for p in zip(*parts))
    boxes, scores, labels = merge_sliced_detections(boxes, scores, labels, cut, nms_cfg, merge_iou, merge_metric,
                                                    tile_of)
    if max_per_img is not None:
        boxes, scores, labels = boxes[:max_per_img], scores[:max_per_img], labels[:max_per_img]
    dets = torch.cat([boxes, scores[:, None]], 1).numpy().astype(np.float32)
    labels = labels.numpy()
    return [dets[labels == c] for c in range(num_classes)]


def evaluate_sliced(model, dataset, slice_size=(512, 512), overlap=0.2, batch_size=4, full_image=True,
                    logger=None, **merge_kwargs):
    """COCO box AP of ``model`` on ``dataset`` without and with slicing.

    Args:
        model: a detector from :func:`mmdet.apis.init_detector`.
        dataset: a :class:`mmdet.datasets.CocoDataset` (test mode): its images are read from
            ``img_prefix`` and its ``evaluate`` gives the metrics.
        slice_size, overlap, batch_size, full_image, merge_kwargs: as :func:`sliced_inference`
            (``batch_size`` also batches the images of the plain pass).
        logger: where the COCO summaries are printed.

    Returns:
        dict: ``{'full': metrics, 'sliced': metrics}``, each ``CocoDataset.evaluate``'s dict
        (``bbox_mAP``, ``bbox_mAP_s``, ...).
    """
    import os.path as osp
    prefix = getattr(dataset, 'img_prefix', None)
    paths = [info['filename'] if prefix is None else osp.join(prefix, info['filename'])
             for info in dataset.data_infos]
    pipelines = build_test_pipelines(model.cfg)
    plain = []
    for start in range(0, len(paths), batch_size):
        plain += inference_batch(model, [prepare_test_data(model.cfg, p, pipelines)
                                         for p in paths[start:start + batch_size]])
    sliced = [sliced_inference(model, p, slice_size, overlap, batch_size, full_image, pipelines=pipelines,
                               **merge_kwargs) for p in paths]
    return dict(full=dataset.evaluate(plain, metric='bbox', logger=logger),
                sliced=dataset.evaluate(sliced, metric='bbox', logger=logger))
