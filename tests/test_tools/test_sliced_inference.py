"""Sliced inference (mmdet/apis/sliced_inference.py), the ObjectCrop / ObjectCropDataset training crop
(mmdet/datasets/object_crop.py) and tools/analysis_tools/eval_sliced.py.

Slicing and merging are checked with a deterministic fake detector that finds the pure blue (class 0) and
pure green (class 1) squares of a generated black 1024x768 image by thresholding: each square must come out
once with its exact box, also the squares cut by tile borders."""
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from mmdet.apis.sliced_inference import (clipped_overlap, greedy_nmm, merge_sliced_detections, pairwise_overlap,
                                         slice_grid, sliced_inference)
from mmdet.datasets import build_dataset
from mmdet.datasets.object_crop import ObjectCrop, ObjectCropDataset
from mmdet.utils import Config
from tests.conftest import ROOT, run_env, write_user_config

H, W = 768, 1024


# ------------------------------------------------------------------------------------------ fake detector

def fake_cfg(scale_factor=1.0, nms=None):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='MultiScaleFlipAug', scale_factor=scale_factor, flip=False, transforms=[
            dict(type='Resize', keep_ratio=True),
            dict(type='RandomFlip'),
            dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False),
            dict(type='Pad', size_divisor=32),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img']),
        ])]
    return Config(dict(model=dict(test_cfg=dict(nms=nms or dict(type='nms', iou_threshold=0.6))),
                       data=dict(test=dict(pipeline=pipeline))))


class SquareDetector(nn.Module):
    """'Detects' the connected regions where channel c (0: blue, 1: green) is bright, as class c with score
    1, in the padded test-pipeline image; boxes rescaled to the input with ``scale_factor``."""

    CLASSES = ('blue', 'green')

    def __init__(self, cfg):
        super().__init__()
        self.cfg, self.test_cfg = cfg, cfg.model.test_cfg
        self.anchor = nn.Parameter(torch.zeros(1))  # inference_batch reads the device from a parameter
        self.calls = []

    def forward(self, img, img_metas, return_loss=True, rescale=False):
        assert not return_loss and len(img) == 1  # one view
        self.calls.append(img[0].shape[0])
        results = []
        for im, meta in zip(img[0], img_metas[0]):
            h, w = meta['img_shape'][:2]
            per_class = []
            for c in range(2):
                mask = (im[c, :h, :w] > 127).numpy().astype(np.uint8)
                _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
                xywh = stats[1:, :4].astype(np.float32)
                boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
                if rescale:
                    boxes /= np.asarray(meta['scale_factor'], np.float32)
                per_class.append(np.concatenate([boxes, np.ones((len(boxes), 1), np.float32)], 1))
            results.append(per_class)
        return results


def square_image(slice_size, overlap, seed=0, n=40):
    """A black (H, W) BGR image with ``n`` random blue/green squares of 8..20 px, at least 3 px apart, and
    more squares placed across the inner tile borders of ``slice_grid(H, W, slice_size, overlap)``:
    on the border of one tile (whole in its neighbour) and across the overlap of two tiles (cut in both).
    Returns the image and per class the (k, 4) gt boxes."""
    rng = np.random.default_rng(seed)
    tiles = slice_grid(H, W, slice_size, overlap)
    boxes = []
    xs = sorted({int(t[2]) for t in tiles if t[2] < W})  # inner right borders of the tiles
    ys = sorted({int(t[3]) for t in tiles if t[3] < H})
    starts_x = sorted({int(t[0]) for t in tiles if t[0] > 0})
    for x in xs[:3]:
        boxes.append((x - 6, 40, x + 8, 54))  # cut by a tile's right border
    for y in ys[:2]:
        boxes.append((300, y - 12, 318, y + 4))  # cut by a bottom border
    for sx, ex in zip(starts_x, xs):  # centred on the overlap [sx, ex): cut in both tiles when wider
        c = (sx + ex) // 2
        boxes.append((c - 10, 600, c + 10, 620))
    boxes.append((xs[0] - 7, ys[0] - 9, xs[0] + 7, ys[0] + 5))  # a tile corner
    while len(boxes) < n + 8:
        s = int(rng.integers(8, 21))
        x, y = int(rng.integers(0, W - s)), int(rng.integers(0, H - s))
        cand = (x, y, x + s, y + s)
        if all(cand[0] > b[2] + 2 or cand[2] < b[0] - 2 or cand[1] > b[3] + 2 or cand[3] < b[1] - 2 for b in boxes):
            boxes.append(cand)
    img = np.zeros((H, W, 3), np.uint8)
    labels = np.arange(len(boxes)) % 2
    for (x1, y1, x2, y2), c in zip(boxes, labels):
        img[y1:y2, x1:x2, c] = 255
    boxes = np.asarray(boxes, np.float32)
    return img, [boxes[labels == c] for c in range(2)]


def assert_each_once(result, gts, tol=0.0):
    assert len(result) == len(gts)
    for c, (dets, gt) in enumerate(zip(result, gts)):
        assert dets.dtype == np.float32 and dets.shape == (len(gt), 5), (c, dets.shape, len(gt))
        order = np.lexsort(dets[:, :4].T[::-1])
        gt_order = np.lexsort(gt.T[::-1])
        np.testing.assert_allclose(dets[order, :4], gt[gt_order], atol=tol)
        assert np.all(dets[:, 4] == 1)


# ------------------------------------------------------------------------------------------------ tiles

@pytest.mark.parametrize('size, overlap', [((256, 256), 0.2), ((300, 200), (0.1, 0.3)), ((1000, 1000), 0.2),
                                           ((128, 128), 0.0)])
def test_slice_grid_covers_with_overlap_and_border_aligned_last_tiles(size, overlap):
    tiles = slice_grid(H, W, size, overlap)
    sw, sh = size
    ow, oh = (overlap, overlap) if np.isscalar(overlap) else overlap
    assert tiles.dtype == np.int64 and tiles.shape[1] == 4
    covered = np.zeros((H, W), bool)
    for x1, y1, x2, y2 in tiles:
        covered[y1:y2, x1:x2] = True
        assert x2 - x1 == min(sw, W) and y2 - y1 == min(sh, H)
        assert 0 <= x1 and 0 <= y1 and x2 <= W and y2 <= H
    assert covered.all()
    for axis, (length, s, o) in enumerate(((W, sw, ow), (H, sh, oh))):
        starts = np.unique(tiles[:, axis])
        ends = np.unique(tiles[:, axis + 2])
        assert starts[0] == 0 and ends[-1] == length  # first at the start, last aligned to the border
        if len(starts) > 1:
            steps = np.diff(starts)
            assert np.all(steps[:-1] == round(s * (1 - o))) and 0 < steps[-1] <= round(s * (1 - o))
    # one tile when the image fits
    np.testing.assert_array_equal(slice_grid(100, 200, (512, 512)), [[0, 0, 200, 100]])
    with pytest.raises(ValueError, match='overlap'):
        slice_grid(H, W, 256, 1.0)
    with pytest.raises(ValueError, match='slice_size'):
        slice_grid(H, W, (0, 256))


# ---------------------------------------------------------------------------------------------- merging

def test_pairwise_overlap_ios_and_iou():
    a = torch.tensor([[0., 0., 10., 10.]])
    b = torch.tensor([[5., 0., 15., 10.], [2., 2., 4., 4.], [20., 20., 30., 30.], [3., 3., 3., 9.]])
    np.testing.assert_allclose(pairwise_overlap(a, b, 'ios').numpy(), [[0.5, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(pairwise_overlap(a, b, 'iou').numpy(), [[50 / 150, 0.04, 0.0, 0.0]])
    with pytest.raises(ValueError, match='metric'):
        pairwise_overlap(a, b, 'giou')


def test_greedy_nmm_merges_only_pairs_with_a_cut_box_of_one_class():
    boxes = torch.tensor([[0., 0., 12., 10.],   # 0 left part of an object (cut), score .9
                          [4., 0., 20., 10.],   # 1 right part (cut), IoS 2/3: merges with 0 -> [0, 0, 20, 10]
                          [2., 2., 6., 6.],     # 2 whole, inside 0, other class: stays
                          [40., 0., 60., 20.],  # 3 whole, best of its pair
                          [42., 2., 58., 18.],  # 4 whole, inside 3 but neither is cut: stays (NMS's business)
                          [45., 5., 50., 10.]])  # 5 cut, inside 3 -> merged into 3
    scores = torch.tensor([.9, .8, .7, .95, .6, .5])
    labels = torch.tensor([0, 0, 1, 0, 0, 0])
    cut = torch.tensor([True, True, False, False, False, True])
    out_boxes, out_scores, out_labels, keep, members = greedy_nmm(boxes, scores, labels, cut, 0.5, 'ios')
    np.testing.assert_allclose(out_scores.numpy(), [.95, .9, .7, .6], rtol=1e-6)
    np.testing.assert_allclose(out_boxes.numpy(), [[40, 0, 60, 20], [0, 0, 20, 10], [2, 2, 6, 6], [42, 2, 58, 18]])
    assert out_labels.tolist() == [0, 0, 1, 0]
    assert keep.tolist() == [3, 0, 2, 4] and members.tolist() == [1, 1, 2, 0, 3, 0]
    # by IoU the two halves (IoU 0.4) do not merge
    _, s, _, _, _ = greedy_nmm(boxes, scores, labels, cut, 0.5, 'iou')
    assert len(s) == 6
    # nothing mergeable, nothing to merge
    b, s, lab, keep, m = greedy_nmm(boxes, scores, labels, torch.zeros(6, dtype=torch.bool), metric='ios')
    assert len(s) == 6 and m.tolist() == [1, 2, 3, 0, 4, 5] and keep.tolist() == [3, 0, 1, 2, 4, 5]
    b, s, lab, keep, m = greedy_nmm(boxes[:0], scores[:0], labels[:0], cut[:0], metric='ios')
    assert b.shape == (0, 4) and len(m) == 0
    with pytest.raises(ValueError, match='needs the tiles'):
        greedy_nmm(boxes, scores, labels, cut)


def test_clipped_iou_merges_a_part_with_its_whole_box_not_with_a_bigger_box_holding_it():
    tile = torch.tensor([[-50., -50., 8., 50.]])  # the part's tile ends at x = 8
    part = torch.tensor([[0., 0., 8., 10.]])
    others = torch.tensor([[0., 0., 10., 10.], [-40., -40., 40., 40.], [4., 0., 14., 10.]])
    np.testing.assert_allclose(clipped_overlap(part, tile, others).numpy(), [[1.0, 80 / 3840, 0.5]], rtol=1e-6)
    boxes = torch.cat([part, others[1:2]])
    scores, labels = torch.tensor([.9, .2]), torch.zeros(2, dtype=torch.long)
    cut, tiles = torch.tensor([True, False]), torch.cat([tile, torch.zeros(1, 4)])
    b, s, _, _, _ = greedy_nmm(boxes, scores, labels, cut, 0.5, 'clipped_iou', tiles)
    assert len(s) == 2  # the false big box does not swallow the part
    b, s, _, _, _ = greedy_nmm(boxes, scores, labels, cut, 0.5, 'ios', tiles)
    np.testing.assert_allclose(b.numpy(), [[-40, -40, 40, 40]])  # as SAHI's IOS does


def test_merge_runs_nms_on_whole_boxes_and_keeps_a_part_from_suppressing_the_whole():
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.3], [0., 0., 8., 10.]])  # 2: a part, IoU .8
    scores = torch.tensor([.8, .7, .9])
    labels = torch.tensor([0, 0, 0])
    cut = torch.tensor([False, False, True])
    tiles = torch.tensor([[0., 0., 0., 0.], [0., 0., 0., 0.], [-50., -50., 8., 50.]])
    b, s, lab = merge_sliced_detections(boxes, scores, labels, cut, dict(type='nms', iou_threshold=0.6),
                                        tiles=tiles)
    np.testing.assert_allclose(b.numpy(), [[0, 0, 10, 10]])  # the whole box, with the part's score
    np.testing.assert_allclose(s.numpy(), [.9], rtol=1e-6)


def test_the_four_parts_of_an_object_at_a_tile_corner_end_in_one_box():
    """Parts from the four tiles around a corner (10 px overlaps of a 20 px object): the diagonal pairs
    overlap by 4/9 of a part, under merge_iou 0.5; the second round merges them through the union."""
    boxes = torch.tensor([[0., 0., 15., 15.], [5., 5., 20., 20.], [5., 0., 20., 15.], [0., 5., 15., 20.]])
    tiles = torch.tensor([[-50., -50., 15., 15.], [5., 5., 70., 70.], [5., -50., 70., 15.], [-50., 5., 15., 70.]])
    scores = torch.tensor([.9, .8, .7, .6])
    labels = torch.zeros(4, dtype=torch.long)
    cut = torch.ones(4, dtype=torch.bool)
    assert len(greedy_nmm(boxes, scores, labels, cut, 0.5, tiles=tiles)[1]) == 2  # one round: a part is left
    b, s, lab = merge_sliced_detections(boxes, scores, labels, cut, dict(type='nms', iou_threshold=0.6),
                                        tiles=tiles)
    np.testing.assert_allclose(b.numpy(), [[0, 0, 20, 20]])
    np.testing.assert_allclose(s.numpy(), [.9], rtol=1e-6)


# ------------------------------------------------------------------------------------------- end to end

@pytest.mark.parametrize('nms', [dict(type='nms', iou_threshold=0.6),
                                 dict(type='soft_nms', iou_threshold=0.6, min_score=0.01)])
def test_sliced_inference_returns_each_square_once_with_its_full_box(nms):
    size, overlap = (256, 256), 0.2
    img, gts = square_image(size, overlap)
    model = SquareDetector(fake_cfg(nms=nms))
    result = sliced_inference(model, img, size, overlap, batch_size=4, full_image=False)
    assert_each_once(result, gts)
    n_tiles = len(slice_grid(H, W, size, overlap))
    assert model.calls == [4] * (n_tiles // 4) + ([n_tiles % 4] if n_tiles % 4 else [])
    # the cut squares are really cut: without the merge (no cut candidates) their parts stay
    plain = sliced_inference(model, img, size, overlap, full_image=False, border_tol=-1e6)
    assert sum(len(r) for r in plain) > sum(len(g) for g in gts)


def test_objects_cut_in_both_tiles_merge_across_the_overlap(tmp_path):
    size, overlap = (128, 128), 0.1  # 13 px overlaps: the 20 px squares centred on them are cut twice
    img, gts = square_image(size, overlap, seed=1, n=30)
    path = str(tmp_path / 'big.png')
    assert cv2.imwrite(path, img)
    model = SquareDetector(fake_cfg())
    assert_each_once(sliced_inference(model, path, size, overlap, batch_size=8, full_image=False), gts)
    # the full-image pass adds the same boxes again: still each once
    model.calls.clear()
    assert_each_once(sliced_inference(model, path, size, overlap, batch_size=8, full_image=True), gts)
    assert model.calls[-1] == 1  # the full image, alone
    with pytest.raises(ValueError, match='merge_metric'):
        sliced_inference(model, path, size, merge_metric='giou')


def test_sliced_inference_through_a_resizing_pipeline():
    """Tiles upsampled 2x by the test pipeline, as a real config does: boxes within a pixel."""
    img, gts = square_image((256, 256), 0.25, seed=2, n=25)
    model = SquareDetector(fake_cfg(scale_factor=2.0))
    assert_each_once(sliced_inference(model, img, (256, 256), 0.25, batch_size=2, full_image=False), gts, tol=1.0)


# --------------------------------------------------------------------------------------------- ObjectCrop

@pytest.fixture(scope='module')
def big_shapes(tmp_path_factory):
    from mmdet.datasets.synthetic import make_shapes_dataset
    root = tmp_path_factory.mktemp('big_shapes')
    make_shapes_dataset(str(root), num_train=3, num_val=0, seed=5, size_range=((300, 301), (400, 401)),
                        max_objects=12, min_obj=10, max_obj_frac=0.2)
    return str(root)


def load_cfg(root, pipeline):
    return dict(type='CocoDataset', classes=('ellipse', 'rectangle', 'triangle'),
                ann_file=osp.join(root, 'annotations', 'instances_train.json'), img_prefix=osp.join(root, 'train'),
                pipeline=pipeline)


LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]


def test_object_crop_dataset_crops_around_an_object(big_shapes):
    plain = build_dataset(load_cfg(big_shapes, LOAD))
    crop_w, crop_h, min_visible = 128, 96, 0.6
    wrapped = build_dataset(dict(type='ObjectCropDataset', dataset=load_cfg(big_shapes, LOAD),
                                 crop_size=(crop_w, crop_h), min_visible=min_visible))
    assert isinstance(wrapped, ObjectCropDataset) and len(wrapped) == len(plain) == 3
    assert wrapped.CLASSES == plain.CLASSES and wrapped.flag.tolist() == [1, 1, 1]
    np.random.seed(0)
    seen_cut = False
    for trial in range(12):
        idx = trial % len(plain)
        ref, item = plain[idx], wrapped[idx]
        info = item['object_crop']
        x1, y1, x2, y2 = info['window']
        assert (x2 - x1, y2 - y1) == (crop_w, crop_h) and item['img'].shape == (crop_h, crop_w, 3)
        np.testing.assert_array_equal(item['img'], ref['img'][y1:y2, x1:x2])
        gt = ref['gt_bboxes']
        chosen = gt[info['object']]
        assert x1 <= chosen[0] and y1 <= chosen[1] and chosen[2] <= x2 and chosen[3] <= y2  # inside, whole
        assert info['object'] in info['kept']
        boxes = item['gt_bboxes']
        assert np.all(boxes >= 0) and np.all(boxes[:, 0::2] <= crop_w) and np.all(boxes[:, 1::2] <= crop_h)
        shifted = gt - np.array([x1, y1, x1, y1], np.float32)
        clipped = shifted.copy()
        clipped[:, 0::2] = clipped[:, 0::2].clip(0, crop_w)
        clipped[:, 1::2] = clipped[:, 1::2].clip(0, crop_h)
        np.testing.assert_allclose(boxes, clipped[info['kept']])
        np.testing.assert_array_equal(item['gt_labels'], ref['gt_labels'][info['kept']])
        visible = np.prod((clipped[:, 2:] - clipped[:, :2]).clip(0), 1) / np.prod(gt[:, 2:] - gt[:, :2], 1)
        dropped = np.setdiff1d(np.arange(len(gt)), info['kept'])
        assert np.all(visible[info['kept']] >= min_visible - 1e-6) and np.all(visible[dropped] < min_visible)
        seen_cut |= bool(np.any((visible[info['kept']] < 1)))
    assert seen_cut  # some kept boxes were clipped by the window


def test_object_crop_random_windows_and_a_full_training_pipeline(big_shapes):
    pipeline = LOAD + [dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False),
                       dict(type='Pad', size_divisor=32), dict(type='DefaultFormatBundle'),
                       dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
    wrapped = build_dataset(dict(type='ObjectCropDataset', dataset=load_cfg(big_shapes, pipeline),
                                 crop_size=(160, 128), p_random=1.0))
    np.random.seed(1)
    for idx in range(3):
        data = wrapped[idx]
        assert tuple(data['img'].data.shape) == (3, 128, 160)
        boxes = data['gt_bboxes'].data.numpy()
        assert len(boxes) and np.all(boxes[:, 2] <= 160) and np.all(boxes[:, 3] <= 128)
    # a random window without boxes only when allowed
    crop = ObjectCrop((8, 8), p_random=1.0, allow_negative_crop=True)
    results = dict(img=np.zeros((200, 200, 3), np.uint8), gt_bboxes=np.array([[0, 0, 10, 10]], np.float32),
                   gt_labels=np.array([2]), bbox_fields=['gt_bboxes'])
    windows = [crop(dict(results))['object_crop']['object'] for _ in range(20)]
    assert set(windows) == {-1}
    strict = ObjectCrop((8, 8), p_random=1.0)
    for _ in range(20):
        out = strict(dict(results))
        assert len(out['gt_bboxes']) == 1 and out['img'].shape == (8, 8, 3)
    # an image smaller than the crop: the crop is the image
    small = ObjectCrop((512, 512))(dict(results))
    assert small['img'].shape == (200, 200, 3) and small['gt_bboxes'].tolist() == [[0, 0, 10, 10]]


def test_object_crop_errors(big_shapes):
    with pytest.raises(ValueError, match='no LoadAnnotations'):
        ObjectCropDataset(build_dataset(load_cfg(big_shapes, LOAD[:1])), (64, 64))
    with pytest.raises(ValueError, match='already has an ObjectCrop'):
        ObjectCropDataset(build_dataset(load_cfg(big_shapes, LOAD + [dict(type='ObjectCrop', crop_size=(8, 8))])),
                          (64, 64))
    with pytest.raises(Exception, match='crop_size'):
        ObjectCrop((0, 64))
    with pytest.raises(Exception, match='min_visible'):
        ObjectCrop((64, 64), min_visible=1.5)
    # the wrapped dataset itself is left as it was
    plain = build_dataset(load_cfg(big_shapes, LOAD))
    ObjectCropDataset(plain, (64, 64))
    assert plain[0]['img'].shape == (300, 400, 3)


# ------------------------------------------------------------------------------------------- eval_sliced

def test_eval_sliced_prints_ap_small_with_and_without_slicing(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'vfnet_r18_shapes.py', shapes_data, epochs=1)
    env = run_env()
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', str(tmp_path / 'w'),
                          '--seed', '0', '--no-validate'], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools', 'eval_sliced.py'), cfg,
                          str(tmp_path / 'w' / 'epoch_1.pth'), '--make-data', str(tmp_path / 'big'),
                          '--num-images', '2', '--img-size', '320', '240', '--obj-size', '8', '20',
                          '--slice', '160', '128', '--overlap', '0.2', '--out', str(tmp_path / 'm.json')],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    m = re.search(r'^AP_small\s+([0-9.]+)\s+([0-9.]+)$', out.stdout, re.M)
    assert m, out.stdout
    assert all(0 <= float(v) <= 1 for v in m.groups())
    assert '2 images, slices 160x128, overlap 0.2 + full image' in out.stdout
    import json
    metrics = json.load(open(tmp_path / 'm.json'))
    assert set(metrics) == {'full', 'sliced'} and 'bbox_mAP_s' in metrics['sliced']
    # the same tiles through DetInferencer(slice_size=...) and demo/image_demo.py --slice
    import glob

    from mmdet.apis import DetInferencer, init_detector
    from mmdet.apis.sliced_inference import sliced_inference
    ckpt = str(tmp_path / 'w' / 'epoch_1.pth')
    img = sorted(glob.glob(str(tmp_path / 'big' / '**' / '*.jpg'), recursive=True))[0]
    direct = sliced_inference(init_detector(str(cfg), ckpt), img, slice_size=(160, 128), overlap=0.2)
    pred = DetInferencer(model=str(cfg), weights=ckpt)(img, slice_size=(160, 128), overlap=0.2)['predictions'][0]
    assert len(pred['scores']) == sum(len(r) for r in direct)
    out = subprocess.run([sys.executable, osp.join(ROOT, 'demo', 'image_demo.py'), img, cfg, ckpt, '--slice', '160',
                          '128', '--out-file', str(tmp_path / 'sliced.jpg')], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / 'sliced.jpg').is_file()
