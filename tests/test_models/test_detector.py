import copy

import numpy as np
import torch

from mmdet.models import build_detector

MODEL = dict(
    type='VFNet',
    backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                  norm_eval=False),
    neck=dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=16, start_level=1,
              add_extra_convs='on_output', num_outs=5, relu_before_extra_convs=True),
    bbox_head=dict(type='VFNetHead', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                   norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)),
    train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.01, nms=dict(type='nms', iou_threshold=0.6),
                  max_per_img=100))


def meta(h=96, w=128, flip=False, scale=1.0):
    return dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(int(h / scale), int(w / scale), 3),
                scale_factor=np.full(4, scale, np.float32), flip=flip, flip_direction='horizontal')


def test_aug_test_of_identical_views_equals_simple_test():
    torch.manual_seed(0)
    model = build_detector(MODEL).eval()
    img = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        single = model.simple_test(img, [meta(), meta()], rescale=True)
        merged = model.aug_test([img, img], [[meta(), meta()], [meta(), meta()]], rescale=True)
    assert len(merged) == 2  # batch of two images
    for s, m in zip(single, merged):
        for a, b in zip(s, m):
            assert np.allclose(a[np.lexsort(a.T)], b[np.lexsort(b.T)], atol=1e-4)


def test_aug_test_maps_flipped_and_scaled_views_back():
    torch.manual_seed(0)
    model = build_detector(MODEL).eval()
    img = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        res = model.aug_test([img, torch.flip(img, [3])], [[meta(scale=0.5)], [meta(flip=True, scale=0.5)]],
                             rescale=True)
    dets = np.vstack(res[0])
    assert len(dets) and (dets[:, :4] >= -1e-3).all()
    assert (dets[:, [0, 2]] <= 256 + 1e-3).all() and (dets[:, [1, 3]] <= 192 + 1e-3).all()


def test_forward_api_and_train_step():
    torch.manual_seed(0)
    model = build_detector(copy.deepcopy(MODEL))
    img = torch.randn(2, 3, 96, 128)
    data = dict(img=img, img_metas=[meta(), meta()], gt_bboxes=[torch.tensor([[5., 6., 60., 70.]])] * 2,
                gt_labels=[torch.tensor([2])] * 2)
    out = model.train_step(data)
    assert set(out) == {'loss', 'log_vars', 'num_samples'} and out['num_samples'] == 2
    assert set(out['log_vars']) == {'loss_cls', 'loss_bbox', 'loss_bbox_rf', 'loss'}
    model.eval()
    with torch.no_grad():
        res = model(img=[img], img_metas=[[meta(), meta()]], return_loss=False)
    assert len(res) == 2 and len(res[0]) == 3


def test_autocast_bf16_step_on_cpu():
    torch.manual_seed(0)
    model = build_detector(copy.deepcopy(MODEL))
    data = dict(img=torch.randn(1, 3, 64, 96), img_metas=[meta(64, 96)],
                gt_bboxes=[torch.tensor([[5., 6., 50., 40.]])], gt_labels=[torch.tensor([1])])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert model.bbox_head.vfnet_cls_dconv.weight.grad is not None


def test_inference_under_autocast_decodes_in_float32(monkeypatch):
    """--amp: the network runs in bfloat16, but boxes are decoded from float32
    outputs (bfloat16 points would sit up to 4 px off at x > 512)."""
    from mmdet.apis import inference_autocast
    torch.manual_seed(0)
    model = build_detector(copy.deepcopy(MODEL)).eval()
    seen = []
    real = model.bbox_head.get_bboxes

    def spy(*args, **kwargs):
        seen.extend(t.dtype for lvl in args[:3] for t in lvl)
        return real(*args, **kwargs)
    monkeypatch.setattr(model.bbox_head, 'get_bboxes', spy)
    img, metas = torch.randn(1, 3, 96, 128), [meta()]
    with torch.inference_mode(), inference_autocast('cpu'):
        feats = model.extract_feat(img)
        assert feats[0].dtype == torch.bfloat16
        res = model.simple_test(img, metas, rescale=True)
    assert seen and set(seen) == {torch.float32}
    assert all(r.dtype == np.float32 for r in res[0])
