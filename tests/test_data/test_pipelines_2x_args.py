"""Later-2.x pipeline arguments and steps a 2.x config carries: YOLOX's ``Pad(pad_to_square=True,
pad_val=dict(img=(114, 114, 114)))`` and ``FilterAnnotations``, ``Resize(override=True)``,
``PhotoMetricDistortion`` on uint8 images (2.19+), ``LoadImageFromFile(channel_order=)``,
``LoadAnnotations(denorm_bbox=)``, ``DefaultFormatBundle(img_to_float=, pad_val=)``,
``RandomCrop(recompute_bbox=)``, ``CustomDataset(seg_suffix=, file_client_args=)``, and a test
pipeline that drops an image."""
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import torch

from mmdet.datasets import build_dataset
from mmdet.datasets.pipelines import (Compose, DefaultFormatBundle, FilterAnnotations, LoadAnnotations,
                                      LoadImageFromFile, Pad, PhotoMetricDistortion, RandomCrop, Resize)
from mmdet.parallel import collate
from mmdet.utils import InvalidArgumentError


def sample(h=30, w=50, boxes=((2., 3., 20., 25.),)):
    img = np.random.RandomState(0).randint(0, 255, (h, w, 3)).astype(np.uint8)
    return dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=['img'], bbox_fields=['gt_bboxes'],
                gt_bboxes=np.array(boxes, np.float32).reshape(-1, 4), gt_labels=np.arange(len(boxes)))


# ------------------------------------------------------------------------------ Pad
def test_pad_to_square_with_per_channel_dict_value():
    r = Pad(pad_to_square=True, pad_val=dict(img=(114., 115., 116.)))(sample(30, 50))
    assert r['img'].shape == (50, 50, 3) and r['pad_shape'] == (50, 50, 3) and r['pad_fixed_size'] == (50, 50)
    assert (r['img'][30:] == [114, 115, 116]).all() and np.array_equal(r['img'][:30], sample(30, 50)['img'])
    tall = Pad(pad_to_square=True, pad_val=114)(sample(40, 10))
    assert tall['img'].shape == (40, 40, 3) and (tall['img'][:, 10:] == 114).all()


def test_pad_values_and_sizes():
    assert (Pad(size=(32, 64), pad_val=(1, 2, 3))(sample())['img'][30:] == [1, 2, 3]).all()
    assert (Pad(size_divisor=32, pad_val=dict(img=7, masks=0, seg=255))(sample())['img'][:, 50:] == 7).all()
    # as mmcv 1.x: an image larger than size along an axis is left so along it
    assert Pad(size=(20, 64))(sample())['img'].shape == (30, 64, 3)
    many = dict(img=np.ones((5, 6, 6), np.float32), img_fields=['img'])  # more channels than OpenCV pads
    out = Pad(size=(8, 8), pad_val=tuple(range(6)))(many)['img']
    assert out.shape == (8, 8, 6) and (out[5:, :, 4] == 4).all() and (out[:5, :6] == 1).all()
    with pytest.raises(InvalidArgumentError, match='2 values for an image of 3 channels'):
        Pad(size_divisor=8, pad_val=(1, 2))(sample())


@pytest.mark.parametrize('kwargs, match', [
    (dict(pad_to_square=True, size_divisor=32), 'pad_to_square=True takes no size_divisor'),
    (dict(pad_to_square=True, size=(8, 8)), 'pad_to_square=True takes no size'),
    (dict(), 'exactly one of size, size_divisor and pad_to_square'),
    (dict(size_divisor=32, pad_val=dict(image=0)), "keys are 'img', 'masks' and 'seg'"),
    (dict(size_divisor=32, pad_val='grey'), 'pad_val must be a number'),
    (dict(size_divisor=32, pad_to_square=1), 'pad_to_square must be a bool')])
def test_pad_bad_arguments(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        Pad(**kwargs)


# ------------------------------------------------------------------------------ Resize(override)
def test_second_resize_needs_override_and_then_draws_its_own_scale():
    first = Resize(img_scale=(100, 60), keep_ratio=True)(sample(30, 50))
    assert first['img'].shape[:2] == (60, 100)
    second = Resize(img_scale=(40, 24), keep_ratio=True, override=True)(dict(first))
    assert second['img'].shape[:2] == (24, 40) and second['scale'] == (40, 24)
    # the boxes follow both resizes: x2 factor then x0.4
    np.testing.assert_allclose(second['gt_bboxes'], sample()['gt_bboxes'] * 2 * 0.4, rtol=1e-5)
    with pytest.raises(InvalidArgumentError, match='needs override=True'):
        Resize(img_scale=(40, 24), keep_ratio=True)(dict(first))
    # a scale set by MultiScaleFlipAug (no scale_factor yet) still wins
    assert Resize(img_scale=(400, 240))(dict(sample(30, 50), scale=(100, 60)))['img'].shape[:2] == (60, 100)


def test_resize_pillow_backend():
    from PIL import Image
    img = sample(30, 50)['img']
    out = Resize(img_scale=(100, 60), keep_ratio=True, backend='pillow', interpolation='bicubic')(sample(30, 50))
    expected = np.asarray(Image.fromarray(img).resize((100, 60), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(out['img'], expected)
    cv = Resize(img_scale=(100, 60), keep_ratio=True, interpolation='bicubic')(sample(30, 50))['img']
    assert not np.array_equal(cv, expected) and np.abs(cv.astype(float) - expected).mean() < 20
    with pytest.raises(InvalidArgumentError, match="backend 'pillow' must be one of"):
        Resize(img_scale=(100, 60), backend='pillow', interpolation='area')
    with pytest.raises(InvalidArgumentError, match='needs a uint8 image'):
        Resize(img_scale=(100, 60), backend='pillow')(dict(sample(), img=img.astype(np.float32)))


# ------------------------------------------------------------------------------ FilterAnnotations
def test_filter_annotations_keeps_boxes_larger_than_the_minimum():
    boxes = [[0, 0, 1, 5], [0, 0, 5, 1], [0, 0, 1.5, 1.5], [2, 2, 12, 12]]
    r = sample(boxes=boxes)
    r['gt_bboxes_ignore'] = np.array([[0, 0, 0.5, 0.5]], np.float32)
    out = FilterAnnotations(min_gt_bbox_wh=(1, 1))(r)
    np.testing.assert_array_equal(out['gt_bboxes'], [[0, 0, 1.5, 1.5], [2, 2, 12, 12]])
    np.testing.assert_array_equal(out['gt_labels'], [2, 3])
    assert out['gt_bboxes_ignore'].shape == (1, 4)  # untouched, as 2.x
    assert FilterAnnotations(min_gt_bbox_wh=(5, 5))(sample(boxes=boxes))['gt_labels'].tolist() == [3]


def test_filter_annotations_when_nothing_is_left():
    tiny = [[0, 0, 0.5, 3]]
    assert FilterAnnotations()(sample(boxes=tiny)) is None  # keep_empty=True: the dataset draws another
    out = FilterAnnotations(keep_empty=False)(sample(boxes=tiny))  # YOLOX: the image with no boxes
    assert out['gt_bboxes'].shape == (0, 4) and out['gt_labels'].shape == (0,)
    no_boxes = sample(boxes=())
    assert FilterAnnotations()(no_boxes) is no_boxes  # nothing to filter: unchanged
    assert Compose([dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1))])(sample(boxes=tiny)) is None
    with pytest.raises(InvalidArgumentError, match='by_mask=True'):
        FilterAnnotations(by_mask=True)
    with pytest.raises(InvalidArgumentError, match='min_gt_bbox_wh'):
        FilterAnnotations(min_gt_bbox_wh=1)


# ------------------------------------------------------------------------------ other 2.2x arguments
def test_photometric_distortion_takes_a_uint8_image():
    np.random.seed(0)
    out = PhotoMetricDistortion()(sample())
    assert out['img'].dtype == np.float32 and out['img'].shape == (30, 50, 3)


def test_load_image_channel_order_and_backend(tmp_path):
    img = np.zeros((4, 6, 3), np.uint8)
    img[..., 0], img[..., 2] = 10, 200  # B, R as stored by OpenCV
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    results = lambda: dict(img_prefix=str(tmp_path), img_info=dict(filename='a.png', width=6, height=4))  # noqa
    assert LoadImageFromFile()(results())['img'][0, 0].tolist() == [10, 0, 200]
    assert LoadImageFromFile(channel_order='rgb')(results())['img'][0, 0].tolist() == [200, 0, 10]
    LoadImageFromFile(file_client_args=dict(backend='disk'))
    with pytest.raises(InvalidArgumentError, match="backend 'petrel'"):
        LoadImageFromFile(file_client_args=dict(backend='petrel'))
    with pytest.raises(InvalidArgumentError, match='channel_order'):
        LoadImageFromFile(channel_order='hsv')


def test_load_annotations_denorm_bbox():
    results = dict(img_shape=(100, 200, 3), ann_info=dict(bboxes=np.array([[0.1, 0.2, 0.5, 1.0]], np.float32),
                                                          labels=np.array([0])))
    out = LoadAnnotations(denorm_bbox=True)(results)
    np.testing.assert_allclose(out['gt_bboxes'], [[20, 20, 100, 100]])
    plain = LoadAnnotations()(dict(ann_info=dict(bboxes=np.array([[1, 2, 3, 4]], np.float32), labels=[0])))
    np.testing.assert_array_equal(plain['gt_bboxes'], [[1, 2, 3, 4]])


def test_default_format_bundle_img_to_float_and_pad_value():
    kept = DefaultFormatBundle(img_to_float=False)(sample())
    assert kept['img'].data.dtype == torch.uint8
    bundle = DefaultFormatBundle(pad_val=dict(img=114))
    batch = collate([bundle(sample(30, 50)), bundle(sample(20, 40))], samples_per_gpu=2)
    imgs = batch['img'].data[0]
    assert imgs.shape == (2, 3, 30, 50) and imgs.dtype == torch.float32
    assert (imgs[1, :, 20:] == 114).all() and (imgs[1, :, :, 40:] == 114).all()
    with pytest.raises(InvalidArgumentError, match='pad_val'):
        DefaultFormatBundle(pad_val=dict(image=0))


def test_random_crop_accepts_recompute_bbox():
    np.random.seed(0)
    out = RandomCrop(crop_size=(20, 30), recompute_bbox=False)(sample())
    assert out['img'].shape[:2] == (20, 30)
    with pytest.raises(InvalidArgumentError, match='recompute_bbox'):
        RandomCrop(crop_size=(20, 30), recompute_bbox='no')


# ------------------------------------------------------------------------------ CustomDataset
def _custom_set(tmp_path, **kwargs):
    cv2.imwrite(str(tmp_path / 'a.jpg'), np.full((40, 60, 3), 128, np.uint8))
    infos = [dict(filename='a.jpg', width=60, height=40,
                  ann=dict(bboxes=np.array([[5, 5, 30, 30]], np.float32), labels=np.array([0])))]
    with open(tmp_path / 'ann.pkl', 'wb') as f:
        pickle.dump(infos, f)
    return build_dataset(dict(type='CustomDataset', ann_file=str(tmp_path / 'ann.pkl'), classes=('thing',),
                              img_prefix=str(tmp_path) + osp.sep, min_size=0, **kwargs))


def test_custom_dataset_2x_arguments(tmp_path):
    ds = _custom_set(tmp_path, seg_suffix='.png', file_client_args=dict(backend='disk'), test_mode=True,
                     pipeline=[dict(type='LoadImageFromFile')])
    assert ds[0]['img'].shape == (40, 60, 3)
    with pytest.raises(ValueError, match="backend 'memcached'"):
        _custom_set(tmp_path, file_client_args=dict(backend='memcached'), pipeline=[])


def test_test_pipeline_that_drops_an_image_fails_naming_it(tmp_path):
    """Training draws another sample; testing must not (results would no longer match the images)."""
    dropping = [dict(type='LoadImageFromFile'), lambda results: None]
    with pytest.raises(RuntimeError, match=r'the test pipeline dropped image 0 \(a.jpg\)'):
        _custom_set(tmp_path, test_mode=True, pipeline=dropping)[0]
    filtering = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                 dict(type='FilterAnnotations', min_gt_bbox_wh=(100, 100))]
    with pytest.raises(RuntimeError, match='100 consecutive samples were dropped'):
        _custom_set(tmp_path, pipeline=filtering)[0]
