"""``MinIoURandomCrop`` (2.x's IoU acceptance rule) and ``RandomShift`` (2.12+, YOLOF).

Most checks script the random draws (``Script`` replaces ``np.random.randint`` / ``uniform`` / ``random``
and returns given values in order, asserting each lies within the bounds of the call that takes it and
that all are consumed), so that each case decides one rule exactly; a seeded comparison against a plain
restatement of 2.x's procedure checks the draw order.
"""
import numpy as np
import pytest

from mmdet.datasets.pipelines.compose import PIPELINES, Compose
from mmdet.datasets.pipelines.geometric import MinIoURandomCrop, RandomShift
from mmdet.utils import InvalidArgumentError


class Script:
    """Scripted ``np.random.randint`` / ``uniform`` / ``random``; ``done()`` asserts every value was drawn."""

    def __init__(self, monkeypatch, randint=(), uniform=(), random=()):
        self.queues = dict(randint=list(randint), uniform=list(uniform), random=list(random))
        self.calls = []
        monkeypatch.setattr(np.random, 'randint', self.randint)
        monkeypatch.setattr(np.random, 'uniform', self.uniform)
        monkeypatch.setattr(np.random, 'random', self.random)

    def _pop(self, kind, args):
        assert self.queues[kind], f'unscripted np.random.{kind}{args}'
        self.calls.append((kind, args))
        return self.queues[kind].pop(0)

    def randint(self, low, high=None, size=None):
        assert size is None
        value = self._pop('randint', (low, high))
        lo, hi = (0, low) if high is None else (low, high)
        assert lo <= value < hi, f'randint({low}, {high}) cannot give {value}'
        return value

    def uniform(self, low=0.0, high=1.0, size=None):
        assert size is None
        value = self._pop('uniform', (low, high))
        assert min(low, high) <= value <= max(low, high), f'uniform({low}, {high}) cannot give {value}'
        return value

    def random(self, size=None):
        assert size is None
        value = self._pop('random', ())
        assert 0 <= value < 1
        return value

    def done(self):
        assert not any(self.queues.values()), f'values left undrawn: {self.queues}'


def sample(boxes, labels=None, h=100, w=100, ignore=None, ignore_labels=None, img=None):
    results = dict(img=np.zeros((h, w, 3), np.uint8) if img is None else img, img_fields=['img'],
                   gt_bboxes=np.array(boxes, np.float32).reshape(-1, 4), bbox_fields=['gt_bboxes'])
    results['img_shape'] = results['img'].shape
    results['gt_labels'] = np.arange(len(results['gt_bboxes'])) if labels is None else np.array(labels)
    if ignore is not None:
        results['gt_bboxes_ignore'] = np.array(ignore, np.float32).reshape(-1, 4)
        results['bbox_fields'].append('gt_bboxes_ignore')
        if ignore_labels is not None:
            results['gt_labels_ignore'] = np.array(ignore_labels)
    return results


def coded_image(h=100, w=100):
    """A uint8 image whose pixel (x, y) holds (x, y, 7): a crop reveals where it was taken."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx, yy, np.full_like(xx, 7)], -1).astype(np.uint8)


def numpy_ious(patch, boxes):
    """(n,) float32 IoU of one box ``patch`` with each of ``boxes``, as 2.x's numpy bbox_overlaps."""
    patch, boxes = np.asarray(patch, np.float32), boxes.astype(np.float32)
    wh = (np.minimum(patch[2:], boxes[:, 2:]) - np.maximum(patch[:2], boxes[:, :2])).clip(0)
    overlap = wh[:, 0] * wh[:, 1]
    union = (patch[2] - patch[0]) * (patch[3] - patch[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return overlap / np.maximum(union - overlap, np.float32(1e-6))


# ------------------------------------------------------------------------------------ MinIoURandomCrop
FAR = [100, 30] * 49  # 49 tries of (new_w, new_h) with aspect 0.3: each rejected before left/top are drawn


def test_min_iou_crop_uses_iou_not_iof(monkeypatch):
    # one 20 x 20 box; mode 0.5.  First crop [1, 1, 61, 61]: the box lies wholly inside it (IoF 1, the old
    # rule accepted it) but IoU = 400 / 3600: rejected.  Second crop [8, 8, 33, 33]: IoU 400 / 625 = 0.64.
    script = Script(monkeypatch, randint=[1], uniform=[60, 60, 1, 1, 25, 25, 8, 8])
    out = MinIoURandomCrop(min_ious=(0.5,), min_crop_size=0.2)(sample([[10, 10, 30, 30]], img=coded_image()))
    script.done()
    assert out['img'].shape == out['img_shape'] == (25, 25, 3)
    assert out['img'][0, 0].tolist() == [8, 8, 7]
    np.testing.assert_array_equal(out['gt_bboxes'], [[2, 2, 22, 22]])


def test_min_iou_crop_threshold_inclusive_and_aspect_bounds(monkeypatch):
    # tries: h/w = 3 (the old bound [0.25, 4] allowed it) and h/w = 0.45: rejected, no left/top drawn;
    # then h/w = 2 exactly, crop [10, 10, 30, 50], IoU = 400 / 800 = 0.5 exactly: accepted (IoU >= min_iou)
    script = Script(monkeypatch, randint=[1], uniform=[30, 90, 80, 36, 20, 40, 10, 10])
    out = MinIoURandomCrop(min_ious=(0.5,), min_crop_size=0.2)(sample([[10, 10, 30, 30]], img=coded_image()))
    script.done()
    assert [c[0] for c in script.calls] == ['randint'] + ['uniform'] * 8
    assert out['img'].shape == (40, 20, 3) and out['img'][0, 0].tolist() == [10, 10, 7]
    np.testing.assert_array_equal(out['gt_bboxes'], [[0, 0, 20, 20]])
    # h/w = 0.5 exactly is allowed too (no boxes: the first crop passing the shape checks is taken)
    script = Script(monkeypatch, randint=[1], uniform=[60, 29, 60, 30, 5, 7])
    out = MinIoURandomCrop(min_ious=(0.5,), min_crop_size=0.2)(sample(np.zeros((0, 4)), img=coded_image()))
    script.done()
    assert out['img'].shape == (30, 60, 3) and out['img'][0, 0].tolist() == [5, 7, 7]


def test_min_iou_crop_every_box_of_every_field_counts(monkeypatch):
    # the crop [10, 10, 30, 50] meets IoU 0.5 with the gt box, but not with the ignored box far away:
    # rejected; the remaining 49 tries are rejected by their aspect, then mode 1 keeps the image
    results = sample([[10, 10, 30, 30]], ignore=[[60, 60, 90, 90]], img=coded_image())
    script = Script(monkeypatch, randint=[1, 0], uniform=[20, 40, 10, 10] + FAR)
    out = MinIoURandomCrop(min_ious=(0.5,), min_crop_size=0.2)(results)
    script.done()
    assert out['img'].shape == (100, 100, 3)
    np.testing.assert_array_equal(out['gt_bboxes'], [[10, 10, 30, 30]])


def test_min_iou_crop_needs_a_centre_inside(monkeypatch):
    # mode 0 (IoU >= 0): a 30 x 90 try (h/w = 3) is rejected; crop [1, 1, 41, 41] overlaps the box
    # [30, 30, 90, 90] but holds no centre (60, 60): rejected; then [40, 40, 80, 80] holds it
    script = Script(monkeypatch, randint=[2], uniform=[30, 90, 40, 40, 1, 1, 40, 40, 40, 40])
    out = MinIoURandomCrop(min_ious=(0.9,))(sample([[30, 30, 90, 90]], img=coded_image()))
    script.done()
    assert out['img'].shape == (40, 40, 3) and out['img'][0, 0].tolist() == [40, 40, 7]
    np.testing.assert_array_equal(out['gt_bboxes'], [[0, 0, 40, 40]])


def test_min_iou_crop_rejects_line_crops(monkeypatch):
    # a 2 x 2 image: new_w = new_h = 0.6 at left = top = 1.1 truncates to [1, 1, 1, 1]: rejected
    # (``uniform(w - new_w)`` draws in [1, 1.4] as 2.x's does); then the whole image
    script = Script(monkeypatch, randint=[1], uniform=[0.6, 0.6, 1.1, 1.1, 2, 2, 0.0, 0.0])
    out = MinIoURandomCrop(min_ious=(0.5,))(sample(np.zeros((0, 4)), h=2, w=2, img=coded_image(2, 2)))
    script.done()
    assert out['img'].shape == (2, 2, 3)


@pytest.mark.parametrize('clip', [True, False])
def test_min_iou_crop_centre_rule_and_clipping(monkeypatch, clip):
    boxes = np.array([[10, 10, 40, 40],    # centre (25, 25): kept, clipped to [20, 20, 40, 40]
                      [0, 0, 30, 30],      # centre (15, 15): dropped
                      [70, 50, 100, 90],   # centre (85, 70), x past the crop: dropped
                      [50, 60, 90, 99],    # centre (70, 79.5): kept, clipped to [50, 60, 80, 80]
                      [10, 30, 30, 50]],   # centre (20, 40) on the crop's left side: not strictly inside
                     np.float32)
    ignore = np.array([[60, 20, 70, 30], [0, 90, 10, 100]], np.float32)
    results = sample(boxes, [5, 6, 7, 8, 9], ignore=ignore, ignore_labels=[1, 2], img=coded_image())
    # mode 0; a 30 x 90 try (h/w = 3) is rejected, then the crop [20, 20, 80, 80]
    script = Script(monkeypatch, randint=[6], uniform=[30, 90, 60, 60, 20, 20])
    out = MinIoURandomCrop(bbox_clip_border=clip)(results)
    script.done()
    assert out['img'].shape == (60, 60, 3) and out['img'][0, 0].tolist() == [20, 20, 7]
    if clip:
        np.testing.assert_array_equal(out['gt_bboxes'], [[0, 0, 20, 20], [30, 40, 60, 60]])
    else:
        np.testing.assert_array_equal(out['gt_bboxes'], [[-10, -10, 20, 20], [30, 40, 70, 79]])
    np.testing.assert_array_equal(out['gt_labels'], [5, 8])
    np.testing.assert_array_equal(out['gt_bboxes_ignore'], [[40, 0, 50, 10]])
    np.testing.assert_array_equal(out['gt_labels_ignore'], [1])
    assert out['gt_bboxes'].dtype == out['gt_bboxes_ignore'].dtype == np.float32


def reference_min_iou_crop(results, min_ious, min_crop_size):
    """2.x's procedure restated: returns the patch and each field's expected (boxes, keep)."""
    sample_mode = (1, *min_ious, 0)
    img = results['img']
    h, w = img.shape[:2]
    boxes = np.concatenate([results[k] for k in results['bbox_fields']], 0)
    while True:
        mode = sample_mode[np.random.randint(len(sample_mode))]
        if mode == 1:
            return None
        for _ in range(50):
            new_w = np.random.uniform(min_crop_size * w, w)
            new_h = np.random.uniform(min_crop_size * h, h)
            if not 0.5 <= new_h / new_w <= 2:
                continue
            left, top = np.random.uniform(w - new_w), np.random.uniform(h - new_h)
            patch = np.array((int(left), int(top), int(left + new_w), int(top + new_h)))
            if patch[2] == patch[0] or patch[3] == patch[1]:
                continue
            if len(boxes) and numpy_ious(patch, boxes).min() < mode:
                continue
            centre = (boxes[:, :2] + boxes[:, 2:]) / 2
            inside = (centre > patch[:2]).all(1) & (centre < patch[2:]).all(1)
            if len(boxes) and not inside.any():
                continue
            return patch


def test_min_iou_crop_matches_2x_draws_for_seeds():
    # two large boxes so that the 0.1 and 0.3 modes are often met; one small box to make others fail
    boxes = np.array([[5, 10, 70, 60], [20, 15, 90, 70], [40, 30, 56, 44]], np.float32)
    t = MinIoURandomCrop(min_ious=(0.1, 0.3, 0.5), min_crop_size=0.3)
    kinds = set()
    for seed in range(40):
        results = sample(boxes[:2] if seed % 2 else boxes, img=coded_image())
        np.random.seed(seed)
        patch = reference_min_iou_crop(results, t.min_ious, t.min_crop_size)
        after = np.random.uniform()
        np.random.seed(seed)
        out = t(sample(results['gt_bboxes'], img=coded_image()))
        assert np.random.uniform() == after  # the same number of draws
        if patch is None:
            assert out['img'].shape == (100, 100, 3)
            np.testing.assert_array_equal(out['gt_bboxes'], results['gt_bboxes'])
            kinds.add('keep')
            continue
        kinds.add('crop')
        assert out['img'].shape[:2] == (patch[3] - patch[1], patch[2] - patch[0])
        assert out['img'][0, 0].tolist() == [patch[0], patch[1], 7]
        src = results['gt_bboxes']
        centre = (src[:, :2] + src[:, 2:]) / 2
        keep = (centre > patch[:2]).all(1) & (centre < patch[2:]).all(1)
        expected = np.concatenate([np.maximum(src[keep, :2], patch[:2]), np.minimum(src[keep, 2:], patch[2:])], 1)
        np.testing.assert_array_equal(out['gt_bboxes'], expected - np.tile(patch[:2], 2))
        np.testing.assert_array_equal(out['gt_labels'], np.nonzero(keep)[0])
    assert kinds == {'keep', 'crop'}


def test_min_iou_crop_unsatisfiable_modes_raise(monkeypatch):
    # 2.x loops forever when sample_mode leaves out 1 and no crop can meet it; here it is an error
    monkeypatch.setattr(MinIoURandomCrop, 'MAX_ROUNDS', 3)
    t = MinIoURandomCrop(min_ious=(0.9,))
    t.sample_mode = (0.9,)
    np.random.seed(0)
    with pytest.raises(RuntimeError, match='sample_mode'):
        t(sample([[0, 0, 10, 10], [80, 80, 100, 100]]))


# ------------------------------------------------------------------------------------ RandomShift
H, W = 64, 96
SHIFT_BOXES = np.array([[4, 4, 28, 20], [40, 8, 60, 40], [70, 30, 92, 60], [10, 40, 34, 58]], np.float32)


def painted(boxes=SHIFT_BOXES, h=H, w=W):
    """Each box filled with value label + 1 (its index + 1) on a zero image."""
    img = np.zeros((h, w, 3), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
        img[y1:y2, x1:x2] = i + 1
    return sample(boxes, h=h, w=w, img=img)


def check_painted(out, dx, dy, thr=1):
    """Every kept box covers exactly its object's pixels; every object left wider and taller than ``thr``
    is kept."""
    img = out['img']
    assert img.shape == (H, W, 3) and out['img_shape'] == (H, W, 3)
    expected = SHIFT_BOXES + np.array([dx, dy, dx, dy], np.float32)
    expected[:, 0::2] = expected[:, 0::2].clip(0, W)
    expected[:, 1::2] = expected[:, 1::2].clip(0, H)
    keep = ((expected[:, 2] - expected[:, 0]) > thr) & ((expected[:, 3] - expected[:, 1]) > thr)
    np.testing.assert_array_equal(out['gt_labels'], np.nonzero(keep)[0])
    np.testing.assert_array_equal(out['gt_bboxes'], expected[keep])
    for label, box in zip(out['gt_labels'], out['gt_bboxes'].astype(int)):
        rect = np.zeros((H, W), bool)
        rect[box[1]:box[3], box[0]:box[2]] = True
        np.testing.assert_array_equal(img[..., 0] == label + 1, rect)
    assert (img[..., 0] > 0).sum() == sum(int(np.prod(b[2:] - b[:2])) for b in expected)  # nothing else drawn


@pytest.mark.parametrize('dx, dy', [(5, -3), (-32, 31), (31, -32), (-20, 0), (0, 9)])
def test_random_shift_boxes_follow_their_objects(monkeypatch, dx, dy):
    script = Script(monkeypatch, random=[0.2], randint=[dx, dy])
    out = RandomShift(shift_ratio=0.5, max_shift_px=32)(painted())
    script.done()
    assert [args for kind, args in script.calls if kind == 'randint'] == [(-32, 32), (-32, 32)]
    check_painted(out, dx, dy)


def test_random_shift_seeded_shifts_and_bounds():
    t = RandomShift(shift_ratio=1.0, max_shift_px=2, filter_thr_px=0)
    seen = set()
    for seed in range(60):
        np.random.seed(seed)
        out = t(painted())
        np.random.seed(seed)
        np.random.random()
        dx, dy = np.random.randint(-2, 2), np.random.randint(-2, 2)
        check_painted(out, dx, dy, thr=0)
        seen.add(dx)
    assert seen == {-2, -1, 0, 1}  # the upper bound is exclusive, as 2.x's randint


def test_random_shift_filters_boxes_and_their_labels(monkeypatch):
    # dx = -18 leaves box 0 ([4, 4, 28, 20]) 10 px wide, box 3 ([10, 40, 34, 58]) 16 px; with filter_thr_px=10
    # box 0 is dropped (10 is not above it); the ignored box [0, 0, 19, 10] keeps 1 px width: dropped
    results = painted()
    results['gt_bboxes_ignore'] = np.array([[0, 0, 19, 10], [50, 45, 80, 60]], np.float32)
    results['gt_labels_ignore'] = np.array([7, 8])
    results['bbox_fields'].append('gt_bboxes_ignore')
    script = Script(monkeypatch, random=[0.0], randint=[-18, 0])
    out = RandomShift(filter_thr_px=10)(results)
    script.done()
    np.testing.assert_array_equal(out['gt_labels'], [1, 2, 3])
    np.testing.assert_array_equal(out['gt_bboxes'], [[22, 8, 42, 40], [52, 30, 74, 60], [0, 40, 16, 58]])
    np.testing.assert_array_equal(out['gt_bboxes_ignore'], [[32, 45, 62, 60]])
    np.testing.assert_array_equal(out['gt_labels_ignore'], [8])
    check_painted(out, -18, 0, thr=10)


@pytest.mark.parametrize('ignore_first', [True, False])
def test_random_shift_without_survivors_changes_nothing(monkeypatch, ignore_first):
    # every gt box leaves the image; the ignored box would survive.  Nothing is shifted, whatever the
    # field order (2.x left the fields listed before gt_bboxes shifted)
    boxes = np.array([[0, 0, 10, 10], [0, 30, 8, 50]], np.float32)
    results = painted(boxes)
    results['gt_bboxes_ignore'] = np.array([[40, 40, 60, 60]], np.float32)
    results['bbox_fields'] = ['gt_bboxes_ignore', 'gt_bboxes'] if ignore_first else ['gt_bboxes', 'gt_bboxes_ignore']
    img = results['img'].copy()
    script = Script(monkeypatch, random=[0.1], randint=[-30, 5])
    out = RandomShift(max_shift_px=32)(results)
    script.done()
    np.testing.assert_array_equal(out['img'], img)
    np.testing.assert_array_equal(out['gt_bboxes'], boxes)
    np.testing.assert_array_equal(out['gt_labels'], [0, 1])
    np.testing.assert_array_equal(out['gt_bboxes_ignore'], [[40, 40, 60, 60]])
    # no gt box at all: never shifted either (2.x's early return)
    empty = sample(np.zeros((0, 4)), h=H, w=W, img=img.copy())
    script = Script(monkeypatch, random=[0.1], randint=[3, 3])
    out = RandomShift()(empty)
    script.done()
    np.testing.assert_array_equal(out['img'], img)
    assert out['gt_bboxes'].shape == (0, 4)


def test_random_shift_probability(monkeypatch):
    results = painted()
    img, boxes = results['img'].copy(), results['gt_bboxes'].copy()
    np.random.seed(0)
    for _ in range(20):
        results = RandomShift(shift_ratio=0)(results)
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_bboxes'], boxes)
    np.testing.assert_array_equal(results['gt_labels'], np.arange(4))
    # a draw equal to shift_ratio does not shift (draw < shift_ratio does); only the one draw is taken
    script = Script(monkeypatch, random=[0.5])
    out = RandomShift(shift_ratio=0.5)(painted())
    script.done()
    np.testing.assert_array_equal(out['img'], img)
    script = Script(monkeypatch, random=[0.4999], randint=[2, 3])
    check_painted(RandomShift(shift_ratio=0.5)(painted()), 2, 3)
    script.done()


def test_random_shift_registered_and_config():
    assert PIPELINES.get('RandomShift') is RandomShift
    pipeline = Compose([dict(type='RandomShift', shift_ratio=1.0, max_shift_px=8, filter_thr_px=2)])
    t = pipeline.transforms[0]
    assert isinstance(t, RandomShift) and (t.shift_ratio, t.max_shift_px, t.filter_thr_px) == (1.0, 8, 2)
    assert repr(t) == 'RandomShift(shift_ratio=1.0, max_shift_px=8, filter_thr_px=2)'
    results = painted()
    results['mask_fields'] = ['gt_masks']
    with pytest.raises(NotImplementedError, match='mask_fields'):
        t(results)


@pytest.mark.parametrize('kwargs, arg', [
    (dict(shift_ratio=1.5), 'shift_ratio'), (dict(shift_ratio=-0.1), 'shift_ratio'),
    (dict(shift_ratio='0.5'), 'shift_ratio'), (dict(max_shift_px=0), 'max_shift_px'),
    (dict(max_shift_px=-4), 'max_shift_px'), (dict(max_shift_px=2.5), 'max_shift_px'),
    (dict(max_shift_px=True), 'max_shift_px'), (dict(filter_thr_px=-1), 'filter_thr_px'),
    (dict(filter_thr_px=1.5), 'filter_thr_px'), (dict(filter_thr_px=None), 'filter_thr_px')])
def test_random_shift_bad_args(kwargs, arg):
    with pytest.raises(InvalidArgumentError, match=f'RandomShift {arg}'):
        RandomShift(**kwargs)
