"""The 2.x augmentations: photometric, geometric (crops, expand, affine), AutoAugment, Albu, Mosaic /
MixUp / CopyPaste and MultiImageMixDataset, and browse_dataset.py on a pipeline of them.

Box consistency: each test scene has filled rectangles of distinct colours at its gt boxes, one colour
per label, on a background that encodes its own pixel coordinates (B = x, G = y, R = 7).  After a
transform (forced on), every output box must cover >= 90% of its object's pixels and be little larger
than their extent, and every object still visible must have kept its box (by the transform's rule);
crops and expands are checked exactly against the offset the coordinate background reveals.
"""
import importlib.util
import os.path as osp
import sys
import types
from functools import partial

import numpy as np
import pytest

from mmdet.datasets.builder import DATASETS, build_dataset
from mmdet.datasets.multi_image_mix import MultiImageMixDataset
from mmdet.datasets.pipelines import auto_augment, geometric, mix, photometric
from mmdet.datasets.pipelines.auto_augment import (AutoAugment, BrightnessTransform, ColorTransform, ContrastTransform,
                                                   EqualizeTransform, Rotate, Shear, Translate)
from mmdet.datasets.pipelines.compose import PIPELINES
from mmdet.datasets.pipelines.geometric import Expand, MinIoURandomCrop, RandomAffine, RandomCenterCropPad
from mmdet.datasets.pipelines.mix import CopyPaste, MixUp, Mosaic, YOLOXHSVRandomAug
from mmdet.datasets.pipelines.photometric import Corrupt, PhotoMetricDistortion
from mmdet.utils import InvalidArgumentError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
H, W = 64, 96
PALETTE = [(b, g, 255) for b in (0, 128, 255) for g in (0, 128, 255)][:8]  # >= 127 apart, and from any gray
BOXES = np.array([[4, 4, 28, 20], [40, 8, 60, 40], [70, 30, 92, 60], [10, 40, 34, 58]], np.float32)
LABELS = np.array([3, 0, 5, 1])
TILE_BOXES = np.array([[6, 6, 40, 30], [50, 30, 90, 60]], np.float32)


def scene(boxes=BOXES, labels=LABELS, dtype=np.uint8, background='coords', palette=PALETTE):
    """A results dict: coloured rectangles at ``boxes`` (colour ``palette[label]``) on a coordinate-coded
    (or black) background."""
    if background == 'coords':
        yy, xx = np.mgrid[:H, :W]
        img = np.stack([xx, yy, np.full_like(xx, 7)], -1).astype(dtype)
    else:
        img = np.zeros((H, W, 3), dtype)
    for (x1, y1, x2, y2), label in zip(boxes.astype(int), labels):
        img[y1:y2, x1:x2] = palette[label]
    return dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=['img'], bbox_fields=['gt_bboxes'],
                gt_bboxes=boxes.copy(), gt_labels=np.asarray(labels, np.int64).copy(), filename='scene.png',
                mask_fields=[], seg_fields=[])


def colour_mask(img, colour, tol):
    return np.abs(img.astype(np.float32) - np.asarray(colour, np.float32)).max(-1) <= tol


def check_boxes(out, labels_in, rule, pixels_in=None, axis_aligned=True, mask_of=None):
    """Each output box covers its object; each object still visible enough has its box.

    ``rule``: 'visible' (a box is dropped only when its object left the image: >= 8 pixels visible
    means kept) or 'centre' (dropped when its centre left: more than 55% of its pixels visible means
    kept).  A box is also close to its object's pixel extent: always for axis-aligned transforms; for
    rotations and shears (whose box is the clipped hull of the warped corners, as in 2.x) when the box
    is away from the image sides (the object whole).  ``mask_of(img, label)``: the object's pixels
    (default: within 50 of its PALETTE colour).  Returns the number of boxes kept."""
    img, boxes, labels = out['img'], out['gt_bboxes'], out['gt_labels']
    assert boxes.dtype == np.float32 and boxes.shape == (len(labels), 4) and labels.dtype == np.int64
    assert len(set(labels.tolist())) == len(labels) and set(labels.tolist()) <= set(labels_in)
    assert out['img_shape'][:2] == img.shape[:2]
    h, w = img.shape[:2]
    assert (boxes[:, [0, 1]] >= -1e-3).all() and (boxes[:, 2] <= w + 1e-3).all() and (boxes[:, 3] <= h + 1e-3).all()
    for label in labels_in:
        mask = mask_of(img, label) if mask_of else colour_mask(img, PALETTE[label], 50)
        ys, xs = np.nonzero(mask)
        kept = np.nonzero(labels == label)[0]
        if not len(kept):
            visible = len(xs) >= 8 if rule == 'visible' else len(xs) > 0.55 * pixels_in[label]
            assert not visible, f'label {label}: {len(xs)} pixels visible but its box was dropped'
            continue
        box = boxes[kept[0]]
        assert len(xs) > 0, f'label {label}: box {box} kept but its object left the image'
        cx, cy = xs + 0.5, ys + 0.5
        inside = (cx >= box[0] - 1) & (cx <= box[2] + 1) & (cy >= box[1] - 1) & (cy <= box[3] + 1)
        assert inside.mean() >= 0.9, f'label {label}: box {box} covers {inside.mean():.2f} of its pixels'
        if not axis_aligned and (box[0] < 1 or box[1] < 1 or box[2] > w - 1 or box[3] > h - 1):
            continue
        extent = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
        slack = 2 + 0.05 * max(box[2] - box[0], box[3] - box[1])
        assert (box[:2] >= extent[:2] - slack).all() and (box[2:] <= extent[2:] + slack).all(), \
            f'label {label}: box {box} much larger than its object {extent}'
    return len(labels)


def pixel_counts(results, labels):
    return {label: int(colour_mask(results['img'], PALETTE[label], 50).sum()) for label in labels}


def bg_offset(img):
    """(dx, dy) with output pixel (x, y) showing input pixel (x - dx, y - dy), from a background pixel."""
    rs, cs = np.nonzero((img[..., 2] == 7) & (img[..., 0] < W) & (img[..., 1] < H))
    assert len(rs), 'no background pixel left to locate the crop'
    r, c = rs[0], cs[0]
    return int(c - img[r, c, 0]), int(r - img[r, c, 1])


# ------------------------------------------------------------------------------ registration
def test_registered_under_2x_names():
    for module, names in ((photometric, ['PhotoMetricDistortion', 'Corrupt']),
                          (geometric, ['Expand', 'MinIoURandomCrop', 'RandomCenterCropPad', 'RandomAffine']),
                          (auto_augment, ['AutoAugment', 'Shear', 'Rotate', 'Translate', 'ColorTransform',
                                          'EqualizeTransform', 'BrightnessTransform', 'ContrastTransform']),
                          (mix, ['Mosaic', 'MixUp', 'CopyPaste', 'YOLOXHSVRandomAug'])):
        for name in names:
            assert PIPELINES.get(name) is getattr(module, name)
    assert DATASETS.get('MultiImageMixDataset') is MultiImageMixDataset


# ------------------------------------------------------------------------------ geometric: box consistency
def mosaic_input():
    tiles = [scene(TILE_BOXES, np.array([2 * i, 2 * i + 1])) for i in range(4)]
    tiles[0]['mix_results'] = tiles[1:]
    return tiles[0]


# MixUp averages the two images: the sample's objects are three levels of B, the other image's (which is
# resized: its edges blur) G or R, so that each object stays recognisable where they overlap
MIX_PALETTE = {3: (255, 0, 0), 0: (170, 0, 0), 5: (85, 0, 0), 2: (0, 0, 255), 4: (0, 255, 0)}
MIX_CHANNEL = {3: 0, 0: 0, 5: 0, 2: 2, 4: 1}


def mixup_input():
    results = scene(BOXES[:3], LABELS[:3], background='black', palette=MIX_PALETTE)
    results['mix_results'] = [scene(TILE_BOXES, np.array([2, 4]), background='black', palette=MIX_PALETTE)]
    return results


def mixup_mask(img, label):
    c = MIX_CHANNEL[label]
    return np.abs(img[..., c].astype(np.float32) - MIX_PALETTE[label][c] * 0.5) <= (15 if c == 0 else 25)


GEOMETRIC = {
    'shear-h': (lambda: Shear(level=10, prob=1.0, max_shear_magnitude=0.5), scene, 'visible-warp'),
    'shear-v': (lambda: Shear(level=8, prob=1.0, direction='vertical'), scene, 'visible-warp'),
    'rotate': (lambda: Rotate(level=10, prob=1.0, max_rotate_angle=40), scene, 'visible-warp'),
    'rotate-scaled': (lambda: Rotate(level=6, prob=1.0, scale=0.8, center=(20, 30)), scene, 'visible-warp'),
    'translate-h': (lambda: Translate(level=10, prob=1.0, max_translate_offset=30), scene, 'visible'),
    'translate-v': (lambda: Translate(level=10, prob=1.0, direction='vertical', max_translate_offset=20), scene,
                    'visible'),
    'autoaugment': (lambda: AutoAugment([[dict(type='Rotate', level=10, prob=1.0)],
                                         [dict(type='Shear', level=10, prob=1.0),
                                          dict(type='Translate', level=10, prob=1.0, max_translate_offset=25,
                                               direction='vertical')]]), scene, 'visible-warp'),
    'expand': (lambda: Expand(prob=1.0, ratio_range=(1, 3)), scene, 'visible'),
    'min-iou-crop': (lambda: MinIoURandomCrop(min_ious=(0,), min_crop_size=0.3), scene, 'centre'),
    'center-crop-pad': (lambda: RandomCenterCropPad(crop_size=(48, 64), ratios=(0.8, 1.0, 1.2), border=64,
                                                    mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True, test_pad_mode=None),
                        partial(scene, dtype=np.float32), 'centre'),
    'random-affine': (lambda: RandomAffine(max_rotate_degree=30, max_translate_ratio=0.2,
                                           scaling_ratio_range=(0.6, 1.4), max_shear_degree=10), scene,
                      'visible-warp'),
    'mosaic': (lambda: Mosaic(img_scale=(48, 72), center_ratio_range=(0.6, 1.4)), mosaic_input, 'visible'),
    'mosaic+affine': (lambda: [Mosaic(img_scale=(48, 72)), RandomAffine(border=(-24, -36))], mosaic_input,
                      'visible-warp'),
}


@pytest.mark.parametrize('case', list(GEOMETRIC))
def test_geometric_boxes_follow_their_objects(case):
    make, inputs, rule = GEOMETRIC[case]
    transforms = make()
    transforms = transforms if isinstance(transforms, list) else [transforms]
    changed = 0
    for seed in range(8):
        np.random.seed(seed)
        results = inputs()
        labels_in = sorted(set(results['gt_labels'].tolist()) |
                           {int(v) for r in results.get('mix_results', []) for v in r['gt_labels']})
        before = pixel_counts(results, labels_in)
        shape, ref = results['img'].shape, results['gt_bboxes'].copy()
        for t in transforms:
            results = t(results)
        results.pop('mix_results', None)
        check_boxes(results, labels_in, rule.split('-')[0], pixels_in=before, axis_aligned=not rule.endswith('warp'))
        changed += results['img'].shape != shape or results['gt_bboxes'].shape != ref.shape or \
            not np.allclose(results['gt_bboxes'], ref)
    assert changed >= 4, f'{case}: only {changed} of 8 runs changed the geometry'


def test_mixup_boxes_follow_both_images():
    np.random.seed(0)
    added = 0
    for seed in range(8):
        np.random.seed(seed)
        results = MixUp(img_scale=(H, W), pad_val=0, flip_ratio=0.5)(mixup_input())
        check_boxes(results, [0, 3, 5, 2, 4], 'visible', mask_of=mixup_mask)
        assert results['img'].dtype == np.uint8 and results['img'].shape == (H, W, 3)
        assert set(results['gt_labels'][:3].tolist()) == {3, 0, 5}  # the sample's own boxes first, all kept
        np.testing.assert_array_equal(results['gt_bboxes'][:3], BOXES[:3])
        added += len(results['gt_labels']) > 3
    assert added >= 4
    no_boxes = mixup_input()
    no_boxes['mix_results'][0]['gt_bboxes'] = np.zeros((0, 4), np.float32)
    no_boxes['mix_results'][0]['gt_labels'] = np.zeros(0, np.int64)
    assert MixUp(img_scale=(H, W))(no_boxes)['img'] is no_boxes['img']  # nothing to mix in: unchanged


@pytest.mark.parametrize('flip_ratio', [0.0, 1.0])
def test_mixup_flip_ratio_is_the_flip_probability(flip_ratio):
    """As since 2.26: flip_ratio=0 never flips the other image, flip_ratio=1 always does (at scale 1 and
    the sample's size, the other image is placed as it is, or mirrored)."""
    flipped = TILE_BOXES.copy()
    flipped[:, [0, 2]] = W - TILE_BOXES[:, [2, 0]]
    for seed in range(6):
        np.random.seed(seed)
        results = mixup_input()
        ori, other = results['img'].astype(np.float32), results['mix_results'][0]['img']
        out = MixUp(img_scale=(H, W), ratio_range=(1, 1), pad_val=0, flip_ratio=flip_ratio)(results)
        np.testing.assert_array_equal(out['gt_bboxes'][3:], flipped if flip_ratio else TILE_BOXES)
        shown = other[:, ::-1] if flip_ratio else other
        np.testing.assert_array_equal(out['img'], (0.5 * ori + 0.5 * shown.astype(np.float32)).astype(np.uint8))


def test_mosaic_layout_and_filter():
    np.random.seed(0)
    out = Mosaic(img_scale=(48, 72), center_ratio_range=(1.0, 1.0))(mosaic_input())
    assert out['img'].shape == (96, 144, 3) and out['img_shape'] == (96, 144, 3)
    # centre (72, 48): the sample's tile (scaled 0.75) ends exactly at it; the bottom-right tile starts there
    top_left = out['gt_bboxes'][out['gt_labels'] == 0][0]
    np.testing.assert_allclose(top_left, TILE_BOXES[0] * 0.75, atol=1e-4)
    bottom_right = out['gt_bboxes'][out['gt_labels'] == 6][0]
    np.testing.assert_allclose(bottom_right, TILE_BOXES[0] * 0.75 + [72, 48, 72, 48], atol=1e-4)
    assert (out['img'][0, 0] == 114).all() or out['img'][0, 0, 2] == 7  # pad or the first tile's background
    small = mosaic_input()
    small['gt_bboxes'] = np.array([[0, 0, 3, 3], [10, 10, 40, 40]], np.float32)
    np.random.seed(0)
    kept = Mosaic(img_scale=(48, 72), skip_filter=False, min_bbox_size=4)(small)
    assert 0 not in kept['gt_labels'].tolist()  # 3 px * 0.75 is under min_bbox_size
    assert Mosaic(prob=0.0)(mosaic_input())['img'].shape == (H, W, 3)
    with pytest.raises(InvalidArgumentError, match='MultiImageMixDataset'):
        Mosaic(img_scale=(48, 72))(scene())


# ------------------------------------------------------------------------------ CopyPaste (by box)
# the source's objects (labels 2, 4, 6, 7) cut into the sample's (3, 0, 5, 1) in several ways
PASTE_BOXES = np.array([[0, 0, 20, 14], [36, 0, 64, 30], [66, 36, 96, 64], [14, 38, 34, 64]], np.float32)
PASTE_LABELS = np.array([2, 4, 6, 7])


def copy_paste_input(src_boxes=PASTE_BOXES, src_labels=PASTE_LABELS, **kwargs):
    results = scene(**kwargs)
    results['mix_results'] = [scene(src_boxes, src_labels, **kwargs)]
    return results


def occlusion_rule(out, bbox_thr, mask_thr):
    """From the output pixels: the sample's labels that the rule keeps, and their visible extents."""
    kept = {}
    for box, label in zip(BOXES, LABELS):
        ys, xs = np.nonzero(colour_mask(out['img'], PALETTE[label], 0))
        if not len(xs):
            continue
        extent = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
        if (np.abs(extent - box) <= bbox_thr).all() or len(xs) > mask_thr:
            kept[int(label)] = extent
    return kept


def test_copy_paste_boxes_follow_their_objects():
    pasted_any = dropped_any = 0
    for seed in range(8):
        # thresholds 0 and 7: an object is dropped iff < 8 of its pixels are left (it is 16+ px a side),
        # which is check_boxes' 'visible' rule
        np.random.seed(seed)
        out = CopyPaste(bbox_occluded_thr=0, mask_occluded_thr=7)(copy_paste_input())
        check_boxes(out, LABELS.tolist() + PASTE_LABELS.tolist(), 'visible')
        # the default thresholds, against the rule computed from the pixels
        np.random.seed(seed)
        out = CopyPaste()(copy_paste_input())
        kept = occlusion_rule(out, 10, 300)
        n = len(kept)
        assert out['gt_labels'][:n].tolist() == [v for v in LABELS.tolist() if v in kept]
        np.testing.assert_array_equal(out['gt_bboxes'][:n], [kept[v] for v in out['gt_labels'][:n].tolist()])
        pasted = out['gt_labels'][n:]
        assert set(pasted.tolist()) <= set(PASTE_LABELS.tolist()) and len(pasted) <= 4
        np.testing.assert_array_equal(out['gt_bboxes'][n:], PASTE_BOXES[np.searchsorted(PASTE_LABELS, pasted)])
        assert out['img'].dtype == np.uint8 and out['img_shape'] == (H, W, 3)
        pasted_any += len(pasted) > 0
        dropped_any += n < 4
    assert pasted_any >= 4 and dropped_any >= 2


@pytest.mark.parametrize('bbox_thr,mask_thr,keep_b', [(10, 300, True), (10, 420, False), (11, 420, True),
                                                      (10, 419, True)])
def test_copy_paste_exact_occlusion_rule(bbox_thr, mask_thr, keep_b):
    """All pasted: A loses its left 20 px (64 px left: dropped); B its top 11 rows (420 px left: kept
    while that is over mask_occluded_thr or 11 is within bbox_occluded_thr); C keeps only an L of
    100 px of unchanged extent (kept); D is untouched."""
    src = np.array([[0, 0, 24, 24], [36, 0, 64, 19], [72, 32, 96, 64]], np.float32)
    results = copy_paste_input(src, np.array([2, 4, 6]))
    dst_img, src_img = results['img'].copy(), results['mix_results'][0]['img'].copy()
    results['gt_bboxes_ignore'] = np.array([[1, 1, 30, 30]], np.float32)
    out = CopyPaste(bbox_occluded_thr=bbox_thr, mask_occluded_thr=mask_thr, selected=False)(results)
    boxes = [[40, 19, 60, 40]] * keep_b + [[70, 30, 92, 60], [10, 40, 34, 58]]
    np.testing.assert_array_equal(out['gt_bboxes'], np.concatenate([np.array(boxes, np.float32), src]))
    np.testing.assert_array_equal(out['gt_labels'], [0] * keep_b + [5, 1, 2, 4, 6])
    assert out['gt_bboxes'].dtype == np.float32 and out['gt_labels'].dtype == np.int64
    covered = np.zeros((H, W), bool)
    for x1, y1, x2, y2 in src.astype(int):
        covered[y1:y2, x1:x2] = True
    np.testing.assert_array_equal(out['img'], np.where(covered[..., None], src_img, dst_img))
    np.testing.assert_array_equal(out['gt_bboxes_ignore'], [[1, 1, 30, 30]])  # untouched


def test_copy_paste_selection_edges_and_errors():
    # the 2.x draw: randint(0, min(n + 1, max_num_pasted)) objects, chosen without replacement
    for seed in range(6):
        np.random.seed(seed)
        count = np.random.randint(0, min(5, 3))
        chosen = np.random.choice(4, size=count, replace=False)
        np.random.seed(seed)
        results = copy_paste_input()
        out = CopyPaste(max_num_pasted=3)(results)
        assert out['gt_labels'][len(out['gt_labels']) - count:].tolist() == PASTE_LABELS[chosen].tolist()
        if count == 0:
            np.testing.assert_array_equal(out['gt_bboxes'], BOXES)
    # an object with no pixel left is dropped (2.x kept this one, near the origin, as (0, 0, 0, 0))
    results = scene(np.array([[2, 2, 8, 8], [40, 8, 60, 40]], np.float32), np.array([7, 0]))
    results['mix_results'] = [scene(np.array([[0, 0, 10, 10]], np.float32), np.array([2]))]
    out = CopyPaste(selected=False)(results)
    np.testing.assert_array_equal(out['gt_labels'], [0, 2])
    np.testing.assert_array_equal(out['gt_bboxes'], [[40, 8, 60, 40], [0, 0, 10, 10]])
    # nothing to paste: unchanged; a float image stays float
    empty = copy_paste_input(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    assert CopyPaste()(empty)['img'] is empty['img'] and CopyPaste(selected=False)(empty)['img'] is empty['img']
    floats = CopyPaste(selected=False)(copy_paste_input(dtype=np.float32))
    assert floats['img'].dtype == np.float32 and len(floats['gt_labels']) > 4
    for which in (0, 1):
        masked = copy_paste_input()
        (masked, masked['mix_results'][0])[which]['gt_masks'] = np.zeros((4, H, W), np.uint8)
        with pytest.raises(InvalidArgumentError, match='gt_masks'):
            CopyPaste()(masked)
    small = copy_paste_input()
    small['mix_results'][0]['img'] = small['mix_results'][0]['img'][:32]
    with pytest.raises(InvalidArgumentError, match=r'shape.*\(32, 96, 3\).*\(64, 96, 3\)'):
        CopyPaste()(small)
    with pytest.raises(InvalidArgumentError, match='MultiImageMixDataset'):
        CopyPaste()(scene())
    assert 'max_num_pasted=100' in repr(CopyPaste())


def test_copy_paste_in_multi_image_mix_dataset():
    np.random.seed(0)
    data = ListDataset()
    assert {CopyPaste().get_indexes(data) for _ in range(200)} == set(range(6))  # never len(dataset)
    out = MultiImageMixDataset(data, [dict(type='CopyPaste', selected=False)])[0]
    # every sample has its objects at TILE_BOXES: the pasted ones hide the sample's, which are dropped
    np.testing.assert_array_equal(out['gt_bboxes'], TILE_BOXES)
    assert out['img'].shape == (H, W, 3) and 'mix_results' not in out and len(out['gt_labels']) == 2


# ------------------------------------------------------------------------------ exact drop / shift rules
def test_min_iou_crop_drops_boxes_whose_centre_leaves():
    t, cropped = MinIoURandomCrop(min_ious=(0.1, 0.3), min_crop_size=0.3), 0
    forced = MinIoURandomCrop(min_ious=(0,), min_crop_size=0.3)
    forced.sample_mode = (0,)  # (2.x's attribute) always a crop; the IoU rule is tested in test_geometric_2x.py
    for seed in range(30):
        np.random.seed(seed)
        out = (forced if seed % 2 else t)(scene())
        if out['img'].shape == (H, W, 3):  # the "keep the image" mode
            np.testing.assert_array_equal(out['gt_bboxes'], BOXES)
            continue
        cropped += 1
        dx, dy = bg_offset(out['img'])
        ph, pw = out['img'].shape[:2]
        patch = np.array([-dx, -dy, -dx + pw, -dy + ph], np.float32)
        centre = (BOXES[:, :2] + BOXES[:, 2:]) / 2
        keep = (centre[:, 0] > patch[0]) & (centre[:, 1] > patch[1]) & (centre[:, 0] < patch[2]) & \
            (centre[:, 1] < patch[3])
        expected = np.concatenate([np.maximum(BOXES[keep, :2], patch[:2]), np.minimum(BOXES[keep, 2:], patch[2:])],
                                  1) - np.tile(patch[:2], 2)
        np.testing.assert_allclose(out['gt_bboxes'], expected, atol=1e-4)
        np.testing.assert_array_equal(out['gt_labels'], LABELS[keep])
        assert keep.any()  # a crop keeps some box centre
    assert cropped >= 20
    empty = scene(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    np.random.seed(1)
    assert MinIoURandomCrop()(empty)['gt_bboxes'].shape == (0, 4)


def test_center_crop_pad_exact_and_test_mode():
    t = RandomCenterCropPad(crop_size=(40, 56), ratios=(1.0,), border=64, mean=[0, 0, 0], std=[1, 1, 1],
                            to_rgb=True, test_pad_mode=None)
    for seed in range(10):
        np.random.seed(seed)
        out = t(scene(dtype=np.float32))
        img = out['img']
        assert img.shape == (40, 56, 3) and out['pad_shape'] == img.shape
        dx, dy = bg_offset(img)
        rows, cols = np.nonzero(img.max(-1) > 0)  # the part of the image shown (the rest is mean)
        patch = np.array([cols.min() - dx, rows.min() - dy, cols.max() + 1 - dx, rows.max() + 1 - dy], np.float32)
        centre = (BOXES[:, :2] + BOXES[:, 2:]) / 2
        keep = (centre[:, 0] > patch[0]) & (centre[:, 1] > patch[1]) & (centre[:, 0] < patch[2]) & \
            (centre[:, 1] < patch[3])
        expected = BOXES[keep] + np.array([dx, dy, dx, dy], np.float32)
        expected[:, 0::2] = expected[:, 0::2].clip(0, 56)
        expected[:, 1::2] = expected[:, 1::2].clip(0, 40)
        np.testing.assert_allclose(out['gt_bboxes'], expected, atol=1e-4)
        np.testing.assert_array_equal(out['gt_labels'], LABELS[keep])
    test = RandomCenterCropPad(crop_size=None, ratios=None, border=None, mean=[1, 2, 3], std=[1, 1, 1], to_rgb=True,
                               test_mode=True, test_pad_mode=('logical_or', 127))
    out = test(scene(dtype=np.float32))
    assert out['img'].shape == (127, 127, 3) and out['img_shape'] == (H, W, 3)
    top, bottom, left, right = out['border']
    assert (bottom - top, right - left) == (H, W)
    shown = out['img'][int(top):int(bottom), int(left):int(right)]
    np.testing.assert_array_equal(shown, scene(dtype=np.float32)['img'])
    np.testing.assert_array_equal(out['img'][0, 0], [3, 2, 1])  # mean, reversed for the BGR image
    divisor = RandomCenterCropPad(crop_size=None, ratios=None, border=None, mean=[0, 0, 0], std=[1, 1, 1],
                                  to_rgb=False, test_mode=True, test_pad_mode=('size_divisor', 40))
    assert divisor(scene(dtype=np.float32))['img'].shape == (80, 120, 3)
    with pytest.raises(InvalidArgumentError, match='to_float32=True'):  # as 2.28, which asserts float32
        t(scene())


def test_expand_shifts_boxes_exactly():
    for seed in range(5):
        np.random.seed(seed)
        out = Expand(mean=(1, 2, 3), to_rgb=True, ratio_range=(1.5, 2.5), prob=1.0)(scene())
        dx, dy = bg_offset(out['img'])
        np.testing.assert_array_equal(out['gt_bboxes'], BOXES + np.array([dx, dy, dx, dy], np.float32))
        np.testing.assert_array_equal(out['gt_labels'], LABELS)
        assert out['img_shape'] == out['img'].shape and out['img'].shape[0] >= 1.5 * H - 1
        np.testing.assert_array_equal(out['img'][dy:dy + H, dx:dx + W], scene()['img'])
        np.testing.assert_array_equal(out['img'][-1, -1] if dy + H < out['img'].shape[0] else out['img'][0, 0],
                                      [3, 2, 1])
    same = scene()
    assert Expand(prob=0.0)(same)['img'].shape == (H, W, 3)


def test_translate_drops_boxes_moved_out():
    out = Translate(level=10, prob=1.0, max_translate_offset=30, random_negative_prob=0.0)(scene())
    np.testing.assert_array_equal(out['gt_labels'], [3, 0, 1])  # [70, 30, 92, 60] moved to x >= 100: gone
    np.testing.assert_array_equal(out['gt_bboxes'], [[34, 4, 58, 20], [70, 8, 90, 40], [40, 40, 64, 58]])
    np.testing.assert_array_equal(out['img'][:, 30:], scene()['img'][:, :66])
    assert (out['img'][:, :30] == 128).all()  # img_fill_val
    up = Translate(level=10, prob=1.0, direction='vertical', max_translate_offset=30, random_negative_prob=1.0,
                   img_fill_val=(1, 2, 3))(scene())
    np.testing.assert_array_equal(up['gt_labels'], [0, 5, 1])  # [4, 4, 28, 20] moved above the image
    np.testing.assert_array_equal(up['gt_bboxes'], [[40, 0, 60, 10], [70, 0, 92, 30], [10, 10, 34, 28]])
    np.testing.assert_array_equal(up['img'][-1, 0], [1, 2, 3])
    assert Translate(level=10, prob=0.0)(scene())['gt_bboxes'].shape == (4, 4)


def test_rotate_and_shear_boxes_are_corner_hulls():
    # 90 degrees clockwise about the image centre (47.5, 31.5): (x, y) -> (79 - y, x - 16)
    out = Rotate(level=10, prob=1.0, max_rotate_angle=90, random_negative_prob=0.0)(scene(BOXES[1:2], LABELS[1:2]))
    np.testing.assert_allclose(out['gt_bboxes'], [[39, 24, 71, 44]], atol=1e-3)
    shear = Shear(level=10, prob=1.0, max_shear_magnitude=0.5, random_negative_prob=0.0)(scene(BOXES[1:2],
                                                                                               LABELS[1:2]))
    np.testing.assert_allclose(shear['gt_bboxes'], [[44, 8, 80, 40]], atol=1e-3)  # x + 0.5 y at the corners
    gone = Shear(level=10, prob=1.0, max_shear_magnitude=1.0, random_negative_prob=0.0)(
        scene(np.array([[80, 40, 90, 60]], np.float32), np.array([2])))
    assert len(gone['gt_bboxes']) == 0 and len(gone['gt_labels']) == 0  # sheared past the right side


def test_random_affine_filter_and_border():
    np.random.seed(0)
    out = RandomAffine(border=(-16, -24))(scene())
    assert out['img'].shape == (32, 48, 3) and out['img_shape'] == (32, 48, 3)
    np.random.seed(0)
    strict = RandomAffine(scaling_ratio_range=(0.2, 0.2), min_bbox_size=5, skip_filter=False)(scene())
    assert len(strict['gt_labels']) == 0  # every box shrinks under 5 px
    np.random.seed(0)
    loose = RandomAffine(scaling_ratio_range=(0.2, 0.2), skip_filter=True)(scene())
    assert len(loose['gt_labels']) == 4


# ------------------------------------------------------------------------------ photometric: boxes untouched
PHOTOMETRIC = {
    'photometric-distortion': (lambda: PhotoMetricDistortion(), np.float32),
    'color': (lambda: ColorTransform(level=2, prob=1.0), np.uint8),
    'brightness': (lambda: BrightnessTransform(level=8, prob=1.0), np.uint8),
    'contrast': (lambda: ContrastTransform(level=2, prob=1.0), np.uint8),
    'equalize': (lambda: EqualizeTransform(prob=1.0), np.uint8),
    'yolox-hsv': (lambda: YOLOXHSVRandomAug(), np.uint8),
    'autoaugment-colour': (lambda: AutoAugment([[dict(type='ColorTransform', level=0, prob=1.0)],
                                                [dict(type='EqualizeTransform', prob=1.0)]]), np.uint8),
}


@pytest.mark.parametrize('case', list(PHOTOMETRIC))
def test_photometric_keeps_boxes(case):
    make, dtype = PHOTOMETRIC[case]
    t, changed = make(), 0
    for seed in range(4):
        np.random.seed(seed)
        results = scene(dtype=dtype)
        ref = results['img'].copy()
        out = t(results)
        np.testing.assert_array_equal(out['gt_bboxes'], BOXES)
        np.testing.assert_array_equal(out['gt_labels'], LABELS)
        assert out['img'].shape == (H, W, 3) and out['img'].dtype == dtype
        changed += not np.array_equal(out['img'], ref)
    assert changed >= 2


def test_enhance_transform_values():
    img = scene()['img']
    bright = BrightnessTransform(level=10, prob=1.0)(dict(img=img.copy()))['img']  # factor 1.9
    assert np.abs(bright.astype(int) - np.clip(img * 1.9, 0, 255).astype(int)).max() <= 1
    gray = ColorTransform(level=0, prob=1.0)(dict(img=img.copy()))['img']  # factor 0.1: nearly gray
    assert np.abs(gray.astype(int) - gray.mean(-1, keepdims=True)).max() < 0.1 * 255
    flat = ContrastTransform(level=0, prob=1.0)(dict(img=img.copy()))['img']
    assert flat.std() < 0.15 * img.std()
    eq = EqualizeTransform(prob=1.0)(dict(img=(img // 4).copy()))['img']  # a dark image spreads to 0..255
    assert eq.dtype == np.uint8 and eq[..., 0].max() > 200 and eq[..., 0].min() == 0
    assert BrightnessTransform(level=10, prob=0.0)(dict(img=img.copy()))['img'].tobytes() == img.tobytes()


def test_photometric_distortion_degenerate_ranges_and_dtype():
    t = PhotoMetricDistortion(brightness_delta=0, contrast_range=(1, 1), saturation_range=(1, 1), hue_delta=0)
    img = scene(dtype=np.float32)['img']
    for seed in range(4):
        np.random.seed(seed)
        out = t(dict(img=img.copy()))['img']
        assert any(np.allclose(out, img[..., p], atol=1e-2)
                   for p in ([0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]))
    u8 = scene()  # a uint8 image is cast to float32 first, as 2.19+ (2.28's SSD configs load uint8)
    np.random.seed(0)
    out = t(dict(u8, img=u8['img'].copy()))['img']
    assert out.dtype == np.float32 and any(np.allclose(out, u8['img'][..., p].astype(np.float32), atol=1e-2)
                                           for p in ([0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]))
    with pytest.raises(InvalidArgumentError, match='img_fields'):
        t(dict(scene(dtype=np.float32), img_fields=['img', 'img2']))


def test_yolox_hsv_needs_uint8():
    with pytest.raises(InvalidArgumentError, match='uint8'):
        YOLOXHSVRandomAug()(scene(dtype=np.float32))


def test_autoaugment_picks_every_policy():
    aug = AutoAugment([[dict(type='BrightnessTransform', level=0, prob=1.0)],
                       [dict(type='Translate', level=10, prob=1.0, max_translate_offset=10, random_negative_prob=0)]])
    seen = set()
    for seed in range(12):
        np.random.seed(seed)
        out = aug(scene())
        seen.add('translate' if out['gt_bboxes'][0, 0] == 14 else 'brightness')
    assert seen == {'translate', 'brightness'}
    assert 'Translate' in repr(aug)


def test_box_only():
    with pytest.raises(NotImplementedError, match='mask_fields'):
        Rotate(level=1, prob=1.0)(dict(scene(), mask_fields=['gt_masks']))


# ------------------------------------------------------------------------------ Corrupt (optional imagecorruptions)
def test_corrupt_without_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, 'imagecorruptions', None)
    with pytest.raises(ImportError, match='pip install --no-deps imagecorruptions-imaug'):
        Corrupt('gaussian_noise')


def test_corrupt_calls_the_package(monkeypatch):
    calls = []

    def corrupt(img, corruption_name, severity):
        calls.append((img.dtype, corruption_name, severity))
        return 255 - img

    fake = types.SimpleNamespace(corrupt=corrupt, get_corruption_names=lambda subset='common': ['gaussian_noise'])
    monkeypatch.setitem(sys.modules, 'imagecorruptions', fake)
    t = Corrupt('gaussian_noise', severity=3)
    out = t(scene(dtype=np.float32))
    assert calls == [(np.uint8, 'gaussian_noise', 3)]
    np.testing.assert_array_equal(out['img'], 255 - scene()['img'])
    np.testing.assert_array_equal(out['gt_bboxes'], BOXES)
    with pytest.raises(InvalidArgumentError, match="'fog'"):
        Corrupt('fog')
    with pytest.raises(InvalidArgumentError, match='severity'):
        Corrupt('gaussian_noise', severity=6)


@pytest.mark.parametrize('name', ['gaussian_noise', 'motion_blur', 'frost', 'contrast', 'jpeg_compression'])
def test_corrupt_real_package(name):
    """The real imagecorruptions (CI installs imagecorruptions-imaug): pixels change, boxes and shape do not
    (frost reads the package's own images)."""
    pytest.importorskip('imagecorruptions')
    np.random.seed(0)
    out = Corrupt(name, severity=2)(scene())
    assert out['img'].shape == (H, W, 3) and out['img'].dtype == np.uint8
    assert not np.array_equal(out['img'], scene()['img'])
    np.testing.assert_array_equal(out['gt_bboxes'], BOXES)


# ------------------------------------------------------------------------------ Albu (optional albumentations)
def test_albu_without_package_names_it(monkeypatch):
    from mmdet.datasets.pipelines.albu import Albu
    monkeypatch.setitem(sys.modules, 'albumentations', None)
    with pytest.raises(ImportError, match='pip install albumentations'):
        Albu(transforms=[dict(type='HorizontalFlip', p=1.0)])


BBOX_PARAMS = dict(type='BboxParams', format='pascal_voc', label_fields=['gt_labels'], min_visibility=0.0,
                   filter_lost_elements=True)


@pytest.mark.parametrize('transforms', [
    [dict(type='HorizontalFlip', p=1.0)],
    [dict(type='Affine', rotate=(-30, 30), translate_percent=(-0.2, 0.2), p=1.0)],
    [dict(type='OneOf', transforms=[dict(type='VerticalFlip', p=1.0), dict(type='Transpose', p=1.0)], p=1.0)],
], ids=['flip', 'affine', 'oneof'])
def test_albu_boxes_follow_their_objects(transforms):
    pytest.importorskip('albumentations')
    from mmdet.datasets.pipelines.albu import Albu
    t = Albu(transforms=transforms, bbox_params=BBOX_PARAMS, keymap={'img': 'image', 'gt_bboxes': 'bboxes'},
             update_pad_shape=True)
    for seed in range(4):
        np.random.seed(seed)
        out = t(scene())
        check_boxes(out, LABELS.tolist(), 'visible', axis_aligned='Affine' not in str(transforms))
        assert out['pad_shape'] == out['img'].shape and 'image' not in out and 'idx_mapper' not in out


def test_albu_skip_img_without_anno_and_bad_type():
    pytest.importorskip('albumentations')
    from mmdet.datasets.pipelines.albu import Albu
    crop = [dict(type='Crop', x_min=0, y_min=60, x_max=4, y_max=64, p=1.0)]  # a corner with no object
    assert Albu(crop, bbox_params=BBOX_PARAMS, skip_img_without_anno=True)(scene()) is None
    kept = Albu(crop, bbox_params=BBOX_PARAMS)(scene())
    assert kept['gt_bboxes'].shape == (0, 4) and kept['gt_labels'].shape == (0,) and kept['img_shape'] == (4, 4, 3)
    with pytest.raises(InvalidArgumentError, match="'HorizontalFlipp'.*HorizontalFlip"):
        Albu([dict(type='HorizontalFlipp')])


# ------------------------------------------------------------------------------ MultiImageMixDataset
class ListDataset:
    """In memory: sample i is a scene whose labels are (2 * (i % 4), 2 * (i % 4) + 1); the samples in
    ``none_at`` fail to load (None)."""
    CLASSES = tuple(f'c{i}' for i in range(8))

    def __init__(self, n=6, empty=()):
        self.n, self.empty = n, set(empty)
        self.flag = np.zeros(n, np.uint8)
        self.none_at = set()

    def __len__(self):
        return self.n

    def get_ann_info(self, idx):
        return dict(bboxes=np.zeros((0, 4)) if idx in self.empty else TILE_BOXES)

    def __getitem__(self, idx):
        if idx in self.none_at:
            return None
        k = idx % 4
        if idx in self.empty:
            return scene(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
        return scene(TILE_BOXES, np.array([2 * k, 2 * k + 1]))


class DropTwice:
    """A transform that returns None twice, then passes the sample."""

    def __init__(self):
        self.calls = 0

    def __call__(self, results):
        self.calls += 1
        return None if self.calls <= 2 else dict(results, dropped_twice=True)


def test_multi_image_mix_dataset_feeds_and_skips():
    np.random.seed(0)
    data = ListDataset()
    pipeline = [dict(type='Mosaic', img_scale=(48, 72)), dict(type='RandomAffine', border=(-24, -36)),
                dict(type='MixUp', img_scale=(48, 72)), DropTwice()]
    ds = MultiImageMixDataset(data, pipeline)
    assert len(ds) == 6 and ds.CLASSES == data.CLASSES and ds.flag is data.flag
    out = ds[0]
    assert out['img'].shape == (48, 72, 3) and 'mix_results' not in out and out['dropped_twice']
    assert len(out['gt_bboxes']) == len(out['gt_labels']) > 0
    ds.update_skip_type_keys(['Mosaic', 'RandomAffine', 'MixUp', 'DropTwice'])
    plain = ds[1]
    assert plain['img'].shape == (H, W, 3)
    np.testing.assert_array_equal(plain['gt_labels'], [2, 3])
    data.none_at = {0}  # the other samples are drawn again while one of them fails to load
    seed = next(s for s in range(100) if 0 in np.random.RandomState(s).randint(0, 6, 3))
    np.random.seed(seed)  # the first draw picks sample 0
    again = MultiImageMixDataset(data, [dict(type='Mosaic', img_scale=(48, 72))])[2]
    assert again['img'].shape == (96, 144, 3) and len(again['gt_labels']) > 0
    broken = ListDataset(n=50)
    broken.none_at = set(range(50)) - {2}
    with pytest.raises(RuntimeError, match='returned None'):
        MultiImageMixDataset(broken, [dict(type='Mosaic', img_scale=(48, 72))], max_refetch=2)[2]
    with pytest.raises(RuntimeError, match='always|times in a row'):
        MultiImageMixDataset(ListDataset(), [lambda r: None], max_refetch=2)[0]
    with pytest.raises(RuntimeError, match='dynamic_scale'):
        MultiImageMixDataset(data, [], dynamic_scale=(640, 640))
    with pytest.raises(TypeError, match='skip_type_keys'):
        MultiImageMixDataset(data, [], skip_type_keys='Mosaic')


def test_mixup_get_indexes_prefers_images_with_boxes():
    np.random.seed(0)
    data = ListDataset(n=6, empty=(0, 1, 2, 3, 4))
    assert {MixUp(max_iters=100).get_indexes(data) for _ in range(5)} == {5}
    assert all(0 <= i < 6 for i in Mosaic().get_indexes(data))


# ------------------------------------------------------------------------------ bad arguments
def case(make, *words):
    return pytest.param(make, words, id=' '.join(words)[:60])


BAD = [
    case(partial(PhotoMetricDistortion, contrast_range=(1.5, 0.5)), 'PhotoMetricDistortion', 'contrast_range',
         '(1.5, 0.5)'),
    case(partial(PhotoMetricDistortion, hue_delta=-1), 'PhotoMetricDistortion', 'hue_delta', '-1'),
    case(partial(Expand, ratio_range=(0.5, 2)), 'Expand', 'ratio_range', '(0.5, 2)'),
    case(partial(Expand, prob=2), 'Expand', 'prob', '2'),
    case(partial(MinIoURandomCrop, min_crop_size=0), 'MinIoURandomCrop', 'min_crop_size', '0'),
    case(partial(MinIoURandomCrop, min_ious=(0.1, 2)), 'MinIoURandomCrop', 'min_ious', '(0.1, 2)'),
    case(partial(RandomCenterCropPad, crop_size=(32, 32), test_pad_mode=None), 'RandomCenterCropPad', 'mean', 'None'),
    case(partial(RandomCenterCropPad, crop_size=(3, 3), ratios=None, border=None, mean=[0] * 3, std=[1] * 3,
                 to_rgb=True, test_mode=True), 'RandomCenterCropPad', 'crop_size', '(3, 3)'),
    case(partial(RandomCenterCropPad, crop_size=(32, 32), mean=[0] * 3, std=[1] * 3, to_rgb=True),
         'RandomCenterCropPad', 'test_pad_mode', "('logical_or', 127)"),
    case(partial(RandomAffine, scaling_ratio_range=(2, 1)), 'RandomAffine', 'scaling_ratio_range', '(2, 1)'),
    case(partial(RandomAffine, max_translate_ratio=1.5), 'RandomAffine', 'max_translate_ratio', '1.5'),
    case(partial(RandomAffine, border_val=(1, 2)), 'RandomAffine', 'border_val', '(1, 2)'),
    case(partial(Shear, level=11), 'Shear', 'level', '11'),
    case(partial(Shear, level=5, direction='diagonal'), 'Shear', 'direction', "'diagonal'"),
    case(partial(Shear, level=5, img_fill_val=(1, 2)), 'Shear', 'img_fill_val', '(1, 2)'),
    case(partial(Shear, level=5, img_fill_val=300), 'Shear', 'img_fill_val', '300'),
    case(partial(Shear, level=5, max_shear_magnitude=2.0), 'Shear', 'max_shear_magnitude', '2.0'),
    case(partial(Rotate, level=5, center=(1, 2, 3)), 'Rotate', 'center', '(1, 2, 3)'),
    case(partial(Translate, level=5, prob=1.5), 'Translate', 'prob', '1.5'),
    case(partial(Translate, level=5, min_size=-1), 'Translate', 'min_size', '-1'),
    case(partial(ColorTransform, level=-1), 'ColorTransform', 'level', '-1'),
    case(partial(EqualizeTransform, prob=-0.1), 'EqualizeTransform', 'prob', '-0.1'),
    case(partial(AutoAugment, policies=[]), 'AutoAugment', 'policies', '[]'),
    case(partial(AutoAugment, policies=[[dict(level=1)]]), 'AutoAugment', 'policies[0][0]', "{'level': 1}"),
    case(partial(Mosaic, img_scale=[640, 640]), 'Mosaic', 'img_scale', '[640, 640]'),
    case(partial(Mosaic, prob=1.5), 'Mosaic', 'prob', '1.5'),
    case(partial(MixUp, ratio_range=(0, 1)), 'MixUp', 'ratio_range', '(0, 1)'),
    case(partial(MixUp, max_iters=0), 'MixUp', 'max_iters', '0'),
    case(partial(YOLOXHSVRandomAug, hue_delta=-1), 'YOLOXHSVRandomAug', 'hue_delta', '-1'),
    case(partial(CopyPaste, max_num_pasted=0), 'CopyPaste', 'max_num_pasted', '0'),
    case(partial(CopyPaste, bbox_occluded_thr=-1), 'CopyPaste', 'bbox_occluded_thr', '-1'),
    case(partial(CopyPaste, mask_occluded_thr=None), 'CopyPaste', 'mask_occluded_thr', 'None'),
    case(partial(CopyPaste, selected=1), 'CopyPaste', 'selected', '1'),
]


@pytest.mark.parametrize('make,words', BAD)
def test_bad_arguments_name_class_argument_value(make, words):
    with pytest.raises(InvalidArgumentError) as info:
        make()
    for word in words:
        assert word in str(info.value), f'{word!r} not in {info.value}'


# ------------------------------------------------------------------------------ datasets and browse_dataset.py
IMPORTS = ['mmdet.datasets.multi_image_mix', 'mmdet.datasets.pipelines.mix', 'mmdet.datasets.pipelines.geometric',
           'mmdet.datasets.pipelines.photometric', 'mmdet.datasets.pipelines.auto_augment',
           'mmdet.datasets.pipelines.albu']


def write_config(path, data_root, kind):
    """A user config on the shapes dataset whose training pipeline uses the transforms of ``kind``."""
    base = osp.join(ROOT, 'configs', 'shapes', 'vfnet_r18_fpn_shapes.py')
    load = "dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)"
    tail = ("dict(type='Resize', img_scale=(128, 96), keep_ratio=True), dict(type='RandomFlip', flip_ratio=0.5), "
            "dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32), "
            "dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])")
    steps = {
        'yolox': ("dict(type='Mosaic', img_scale=(96, 128), pad_val=114.0), "
                  "dict(type='RandomAffine', scaling_ratio_range=(0.5, 1.5), border=(-48, -64)), "
                  "dict(type='MixUp', img_scale=(96, 128), ratio_range=(0.8, 1.6), pad_val=114.0), "
                  "dict(type='YOLOXHSVRandomAug')"),
        'ssd': ("dict(type='PhotoMetricDistortion'), "
                "dict(type='Expand', mean=img_norm_cfg['mean'], to_rgb=True, ratio_range=(1, 2), prob=1.0), "
                "dict(type='MinIoURandomCrop', min_ious=(0.3, 0.5), min_crop_size=0.5)"),
        'autoaugment-albu': (
            "dict(type='AutoAugment', policies=[[dict(type='Shear', level=6, prob=1.0)], "
            "[dict(type='Rotate', level=6, prob=1.0), dict(type='ColorTransform', level=6, prob=1.0)], "
            "[dict(type='Translate', level=4, prob=1.0), dict(type='EqualizeTransform', prob=1.0)]]), "
            "dict(type='Albu', transforms=[dict(type='RandomBrightnessContrast', p=0.5), "
            "dict(type='Affine', rotate=(-10, 10), p=0.5)], "
            "bbox_params=dict(type='BboxParams', format='pascal_voc', label_fields=['gt_labels'], "
            "filter_lost_elements=True), keymap={'img': 'image', 'gt_bboxes': 'bboxes'}, "
            "skip_img_without_anno=True)"),
    }
    coco = (f"type='CocoDataset', classes=classes, ann_file={data_root!r} + '/annotations/instances_train.json', "
            f"img_prefix={data_root!r} + '/train/'")
    if kind == 'yolox':
        train = (f"dict(_delete_=True, type='MultiImageMixDataset', dataset=dict({coco}, pipeline=[{load}], "
                 f"filter_empty_gt=False), pipeline=[{steps[kind]}, {tail}])")
    else:
        if kind == 'ssd':  # PhotoMetricDistortion takes float32 images
            load = load.replace("dict(type='LoadImageFromFile')", "dict(type='LoadImageFromFile', to_float32=True)")
        train = f'dict({coco}, pipeline=[{load}, {steps[kind]}, {tail}])'
    with open(path, 'w') as f:
        f.write(f"_base_ = {base!r}\ncustom_imports = dict(imports={IMPORTS!r})\n"
                "classes = ('ellipse', 'rectangle', 'triangle')\n"
                "img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)\n"
                f'data = dict(train={train})\n')
    return str(path)


def load_tool(rel):
    spec = importlib.util.spec_from_file_location(rel.replace('/', '_')[:-3], osp.join(ROOT, 'tools', rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('kind', ['yolox', 'ssd', 'autoaugment-albu'])
def test_browse_dataset_on_augmented_pipelines(kind, shapes_data, tmp_path, capsys):
    if kind == 'autoaugment-albu':
        pytest.importorskip('albumentations')
    from mmdet.utils import Config
    cfg_path = write_config(tmp_path / f'{kind}.py', shapes_data, kind)
    cfg = Config.fromfile(cfg_path)
    np.random.seed(0)
    dataset = build_dataset(cfg.data.train)
    assert type(dataset).__name__ == ('MultiImageMixDataset' if kind == 'yolox' else 'CocoDataset')
    sample = dataset[0]
    assert tuple(sample['img'].data.shape[1:]) in ((96, 128), (128, 128), (96, 96), (128, 96))
    boxes, labels = sample['gt_bboxes'].data, sample['gt_labels'].data
    assert boxes.shape == (len(labels), 4) and len(labels) > 0
    browse = load_tool('misc/browse_dataset.py')
    out_dir = tmp_path / 'browse'
    browse.main([cfg_path, '--output-dir', str(out_dir), '--not-show', '--limit', '3'])
    assert '3 samples drawn' in capsys.readouterr().out
    assert len(list(out_dir.iterdir())) == 3


def test_random_affine_matrix_is_2x_composition():
    """translate @ shear @ rotate @ scale about the origin, drawn in 2.28's order."""
    t = RandomAffine(max_rotate_degree=30, max_translate_ratio=0.2, scaling_ratio_range=(0.5, 1.5),
                     max_shear_degree=10)
    np.random.seed(3)
    angle, scale, sx, sy, tx, ty = (np.random.uniform(-30, 30), np.random.uniform(0.5, 1.5),
                                    np.random.uniform(-10, 10), np.random.uniform(-10, 10),
                                    np.random.uniform(-0.2, 0.2) * 96, np.random.uniform(-0.2, 0.2) * 64)
    a = np.radians(angle)
    rotate = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    shear = np.array([[1, np.tan(np.radians(sx)), 0], [np.tan(np.radians(sy)), 1, 0], [0, 0, 1]])
    expected = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]) @ shear @ rotate @ np.diag([scale, scale, 1])
    np.random.seed(3)
    matrix, drawn_scale = t._random_matrix(64, 96)
    np.testing.assert_allclose(matrix, expected, rtol=1e-5, atol=1e-4)
    assert drawn_scale == pytest.approx(scale)
