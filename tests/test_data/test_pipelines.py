import numpy as np
import pytest
import torch

from mmdet.parallel import DataContainer, collate, scatter
from mmdet.datasets.pipelines import (Collect, DefaultFormatBundle, MultiScaleFlipAug, Normalize, Pad, RandomFlip,
                                      Resize)


def sample(h=100, w=200):
    img = np.random.RandomState(0).randint(0, 255, (h, w, 3)).astype(np.uint8)
    return dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=['img'], bbox_fields=['gt_bboxes'],
                gt_bboxes=np.array([[10., 20., 50., 80.]], np.float32), gt_labels=np.array([1]))


def test_resize_keep_ratio_scales_boxes():
    r = Resize(img_scale=(1333, 800), keep_ratio=True)(sample())
    # long edge 200 -> 1333 would make the short 666 < 800: factor min(1333/200, 800/100) = 6.665
    assert r['img'].shape == (667, 1333, 3)
    assert r['scale_factor'] == pytest.approx([1333 / 200, 667 / 100] * 2)
    assert r['gt_bboxes'][0] == pytest.approx([10 * 1333 / 200, 20 * 6.67, 50 * 1333 / 200, 80 * 6.67], rel=1e-5)


def test_resize_range_and_value_modes():
    np.random.seed(0)
    rng_resize = Resize(img_scale=[(300, 100), (300, 200)], multiscale_mode='range')
    shorts = {min(rng_resize(sample())['img'].shape[:2]) for _ in range(10)}
    assert len(shorts) > 3 and all(100 <= s <= 200 for s in shorts)
    val_resize = Resize(img_scale=[(400, 100), (400, 150)], multiscale_mode='value')
    assert {val_resize(sample())['img'].shape[0] for _ in range(20)} == {100, 150}
    with pytest.raises(ValueError):
        Resize(img_scale=(10, 10), multiscale_mode='bad')


def test_flip_boxes_and_directions():
    r = RandomFlip(flip_ratio=1.0)(sample())
    assert r['flip'] and r['flip_direction'] == 'horizontal'
    assert r['gt_bboxes'][0].tolist() == [150., 20., 190., 80.]
    v = RandomFlip(flip_ratio=1.0, direction='vertical')(sample())
    assert v['gt_bboxes'][0].tolist() == [10., 100 - 80., 50., 100 - 20.]
    assert np.array_equal(v['img'], sample()['img'][::-1])
    never = RandomFlip(flip_ratio=0.0)(sample())
    assert not never['flip']


def test_normalize_pad_format_collect():
    r = Normalize(mean=[10, 20, 30], std=[2, 2, 2], to_rgb=True)(sample(30, 50))
    raw = sample(30, 50)['img'].astype(np.float32)
    assert np.allclose(r['img'][..., 0], (raw[..., 2] - 10) / 2)
    r = Pad(size_divisor=32)(r)
    assert r['img'].shape == (32, 64, 3) and r['pad_shape'] == (32, 64, 3)
    assert (r['img'][30:] == 0).all()
    r = Collect(keys=['img', 'gt_bboxes', 'gt_labels'])(DefaultFormatBundle()(r))
    # 2.x's form: every field in a DataContainer saying how it is batched
    assert all(isinstance(r[k], DataContainer) for k in ('img', 'img_metas', 'gt_bboxes', 'gt_labels'))
    assert r['img'].stack and not r['img'].cpu_only and r['img_metas'].cpu_only and not r['gt_bboxes'].stack
    assert r['img'].data.shape == (3, 32, 64) and r['img'].data.dtype == torch.float32
    assert r['img_metas'].data['pad_shape'] == (32, 64, 3) and isinstance(r['gt_bboxes'].data, torch.Tensor)


def test_multiscale_flip_aug_and_collate():
    aug = MultiScaleFlipAug(img_scale=[(100, 50), (200, 100)], flip=True,
                            transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                                        dict(type='Pad', size_divisor=8), dict(type='DefaultFormatBundle'),
                                        dict(type='Collect', keys=['img'])])
    out = aug(sample())
    assert len(out['img']) == 4
    assert [m.data['flip'] for m in out['img_metas']] == [False, True, False, True]
    # collated and scattered as 2.x's data loader and MMDataParallel do: per view, a batch
    batch = scatter(collate([out, aug(sample(120, 200))], samples_per_gpu=2), 'cpu')
    assert len(batch['img']) == 4 and batch['img'][0].shape[0] == 2
    assert len(batch['img_metas']) == 4 and len(batch['img_metas'][0]) == 2
    train = [dict(img=DataContainer(torch.ones(3, 4, 6), stack=True), img_metas=DataContainer({}, cpu_only=True)),
             dict(img=DataContainer(torch.ones(3, 8, 2), stack=True), img_metas=DataContainer({}, cpu_only=True))]
    train_batch = scatter(collate(train, samples_per_gpu=2), 'cpu')
    assert train_batch['img'].shape == (2, 3, 8, 6) and train_batch['img'][0, :, 4:].abs().sum() == 0
    # plain image tensors of different sizes (ImageToTensor test pipelines) are padded the same way
    plain = collate([dict(img=torch.ones(3, 4, 6)), dict(img=torch.ones(3, 8, 2))], samples_per_gpu=2)
    assert plain['img'].shape == (2, 3, 8, 6) and plain['img'][0, :, 4:].abs().sum() == 0


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
@pytest.mark.parametrize('to_rgb', [True, False])
def test_fast_normalize_and_pad_are_bit_identical_to_the_formula(to_rgb, dtype):
    """The OpenCV paths (uint8 channel swap; a lookup table for uint8, fused convert+subtract and in-place
    divide for float32; copyMakeBorder) give exactly (img[..., ::-1] - mean) / std, zero-padded."""
    from mmdet.datasets.pipelines.transforms import Normalize, Pad
    rng = np.random.RandomState(3)
    img = rng.randint(0, 256, (37, 50, 3)).astype(np.uint8)
    img[0, :, :] = np.arange(256).reshape(-1, 1)[:50]
    img[1, :, :] = np.arange(50, 100).reshape(-1, 1)
    img[2:8, :, :] = np.arange(100, 400).reshape(6, 50, 1) % 256  # every value in every channel
    img = img.astype(dtype)
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    out = Pad(size_divisor=32)(Normalize(mean, std, to_rgb)(dict(img=img.copy())))['img']
    src = img[..., ::-1] if to_rgb else img
    ref = (src.astype(np.float32) - np.array(mean, np.float32)) / np.array(std, np.float32)
    expected = np.zeros((64, 64, 3), np.float32)
    expected[:37, :50] = ref
    assert out.dtype == np.float32 and out.flags.c_contiguous and np.array_equal(out, expected)


@pytest.mark.parametrize('shape,dtype', [((5, 7, 3), np.float32), ((5, 7, 3), np.uint8), ((5, 7, 4), np.float32),
                                         ((5, 7), np.uint8), ((5, 7, 1), np.float32), ((5, 7, 6), np.float32),
                                         ((5, 7, 3), np.float64)])
def test_hwc_to_chw_is_a_contiguous_transpose(shape, dtype):
    from mmdet.datasets.pipelines import ImageToTensor
    from mmdet.datasets.pipelines.formatting import hwc_to_chw
    img = (np.random.RandomState(0).rand(9, 11, *shape[2:]) * 255).astype(dtype)
    for view in (img[:5, :7], img[2:7, ::-1][:, :7], img):  # a crop (row step), negative strides, whole
        ref = view[None] if view.ndim == 2 else view.transpose(2, 0, 1)
        out = hwc_to_chw(view)
        assert out.flags.c_contiguous and out.dtype == view.dtype and np.array_equal(out, ref)
    bundled = DefaultFormatBundle()(dict(img=img))['img'].data
    assert bundled.dtype == torch.float32 and bundled.is_contiguous()
    assert torch.equal(bundled, torch.from_numpy(img[None] if img.ndim == 2 else img.transpose(2, 0, 1)).float())
    assert torch.equal(ImageToTensor(['img'])(dict(img=img))['img'], torch.from_numpy(hwc_to_chw(img)))


def test_vfnet_test_pipeline_on_a_jpeg_is_the_plain_formula():
    """The whole test pipeline of the VFNet configs on a real 640x480 JPEG gives, bit for bit, what the plain
    numpy formula gives: decode, bilinear resize to 1067x800, BGR -> RGB, (x - mean) / std, zero pad to 32, CHW."""
    import os.path as osp

    import cv2

    from mmdet.datasets.pipelines import Compose
    from mmdet.utils import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'))
    filename = osp.join(root, 'demo', 'demo.jpg')
    data = Compose(cfg.data.test.pipeline)(dict(img_info=dict(filename=filename), img_prefix=None))
    img, meta = data['img'][0].data, data['img_metas'][0].data
    src = cv2.imread(filename)
    assert src.shape == (480, 640, 3)
    resized = cv2.resize(src, (1067, 800), interpolation=cv2.INTER_LINEAR)
    norm = cfg.img_norm_cfg
    ref = (resized[..., ::-1].astype(np.float32) - np.array(norm.mean, np.float32)) / np.array(norm.std, np.float32)
    padded = np.zeros((800, 1088, 3), np.float32)
    padded[:, :1067] = ref
    assert meta['img_shape'] == (800, 1067, 3) and meta['pad_shape'] == (800, 1088, 3)
    assert img.dtype == torch.float32 and img.is_contiguous()
    assert torch.equal(img, torch.from_numpy(padded.transpose(2, 0, 1).copy()))
