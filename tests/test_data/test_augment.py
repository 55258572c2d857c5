import numpy as np
import pytest

from mmdet.datasets.pipelines import CutOut, RandomCrop


def sample():
    img = np.arange(100 * 200 * 3, dtype=np.uint8).reshape(100, 200, 3)
    return dict(img=img.copy(), img_shape=img.shape, img_fields=['img'], bbox_fields=['gt_bboxes'],
                gt_bboxes=np.array([[10., 10., 60., 50.], [150., 60., 190., 95.]], np.float32),
                gt_labels=np.array([3, 5]))


def test_random_crop_absolute_shifts_clips_and_drops():
    np.random.seed(0)
    for _ in range(20):
        r = RandomCrop(crop_size=(60, 120))(sample())
        if r is None:  # lost every box: the dataset draws another sample
            continue
        assert r['img'].shape == (60, 120, 3) and r['img_shape'] == (60, 120, 3)
        b = r['gt_bboxes']
        assert len(b) == len(r['gt_labels']) and ((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])).all()
        assert (b[:, [0, 2]] <= 120).all() and (b[:, [1, 3]] <= 60).all() and (b >= 0).all()


def test_random_crop_relative_range_and_probability():
    np.random.seed(1)
    sizes = set()
    for _ in range(30):
        r = RandomCrop(crop_size=(0.75, 0.75), crop_type='relative_range', allow_negative_crop=True)(sample())
        sizes.add(r['img'].shape[:2])
        assert 75 <= r['img'].shape[0] <= 100 and 150 <= r['img'].shape[1] <= 200
    assert len(sizes) > 5
    assert RandomCrop(crop_size=(0.5, 0.5), crop_type='relative', crop_p=0.0)(sample())['img'].shape == (100, 200, 3)
    with pytest.raises(ValueError):
        RandomCrop(crop_size=(1.5, 0.5), crop_type='relative')


def test_random_crop_empty_returns_none():
    s = sample()
    s['gt_bboxes'] = np.array([[0., 0., 5., 5.]], np.float32)
    s['gt_labels'] = np.array([1])
    np.random.seed(3)
    outs = [RandomCrop(crop_size=(20, 20))(dict(s, img=s['img'].copy())) for _ in range(10)]
    assert any(o is None for o in outs)


def test_cutout_holes():
    np.random.seed(0)
    s = sample()
    s['img'][:] = 255
    r = CutOut(n_holes=(5, 10), cutout_shape=[(4, 4), (8, 8)])(s)
    zeros = (r['img'] == 0).all(-1).sum()
    assert 5 * 16 <= zeros <= 10 * 64
    untouched = CutOut(n_holes=3, cutout_ratio=(0.1, 0.1), cutout_p=0.0)(sample())
    assert np.array_equal(untouched['img'], sample()['img'])
    with pytest.raises(ValueError):
        CutOut(n_holes=2)
