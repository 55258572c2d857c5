"""VFNet-X inference end to end with its own test_cfg (soft-NMS), on images whose
detections are dominated by one class - a crowd - as well as balanced ones."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch

import mmdet.core.post_processing.bbox_nms as bbox_nms
from mmdet.models import build_detector
from mmdet.ops import soft_nms
from mmdet.utils import Config
from tests.conftest import ROOT
from tests.fidelity import fill_deterministic

CONFIG = 'vfnetx_r2_101_fpn_mdconv_c3-c5_mstrain_59e_coco.py'


@pytest.fixture(scope='module')
def vfnetx():
    cfg = Config.fromfile(glob.glob(osp.join(ROOT, 'configs', '**', CONFIG), recursive=True)[0])
    cfg.model.pretrained = None
    cfg.model.backbone.depth = 50  # Res2Net-50: the same blocks as 101, half the time
    model = build_detector(cfg.model).eval()
    fill_deterministic(model)
    return model, cfg.model.test_cfg


def class_by_class_batched_nms(boxes, scores, idxs, nms_cfg, class_agnostic=False):
    """The reference: one plain (ungrouped) soft_nms per class, with the original's
    rule for the reported scores (pre-decay from ``split_thr`` candidates on)."""
    cfg = dict(nms_cfg)
    assert cfg.pop('type') == 'soft_nms' and not class_agnostic
    split_thr = cfg.pop('split_thr', 10000)
    keep_all, score_all = [], []
    for c in idxs.unique():
        idx = (idxs == c).nonzero().view(-1)
        dets, keep = soft_nms(boxes[idx], scores[idx], **cfg)
        keep_all.append(idx[keep])
        score_all.append(dets[:, 4])
    keep, kept = torch.cat(keep_all), torch.cat(score_all)
    if boxes.shape[0] >= split_thr:
        kept = scores[keep]
    order = kept.argsort(descending=True, stable=True)
    return torch.cat([boxes[keep[order]], kept[order, None]], 1), keep[order]


def skew_classes(model, img, dominant, others):
    """Set the classifier's biases so that class 0 scores above the threshold at
    ``dominant`` points, classes 1-20 at about ``others`` points each, the rest nowhere."""
    thr = torch.logit(torch.tensor(model.bbox_head.test_cfg.score_thr)) + 1e-3
    bias = model.bbox_head.vfnet_cls.bias
    with torch.no_grad():
        bias.zero_()
        logits = torch.cat([c.flatten(2) for c in model.bbox_head(model.extract_feat(img))[0]], 2)[0]
        top = logits.sort(dim=1, descending=True).values
        wanted = torch.full((logits.shape[0],), -1)
        wanted[0], wanted[1:21] = dominant, others
        bias.copy_(torch.where(wanted > 0, thr - top.gather(1, (wanted.clamp(min=1) - 1)[:, None])[:, 0], -20.))


@pytest.mark.parametrize('dominant,others', [(1500, 12), (60, 60)], ids=['crowd', 'balanced'])
def test_vfnetx_simple_test_with_soft_nms_equals_class_by_class(vfnetx, monkeypatch, dominant, others):
    model, test_cfg = vfnetx
    saved = model.bbox_head.vfnet_cls.bias.detach().clone()
    img = torch.from_numpy(np.random.RandomState(0).randn(1, 3, 320, 416).astype(np.float32))
    skew_classes(model, img, dominant, others)
    try:
        metas = [dict(img_shape=(320, 416, 3), pad_shape=(320, 416, 3), ori_shape=(320, 416, 3),
                      scale_factor=np.ones(4, np.float32), flip=False, batch_input_shape=(320, 416))]
        counts = {}
        real = bbox_nms.batched_nms

        def counting(boxes, scores, idxs, nms_cfg, **kw):
            counts.update(zip(*[t.tolist() for t in idxs.unique(return_counts=True)]))
            return real(boxes, scores, idxs, nms_cfg, **kw)

        with torch.no_grad():
            monkeypatch.setattr(bbox_nms, 'batched_nms', counting)
            got = model.simple_test(img, metas, rescale=True)[0]
            monkeypatch.setattr(bbox_nms, 'batched_nms', class_by_class_batched_nms)
            expected = model.simple_test(img, metas, rescale=True)[0]
    finally:
        with torch.no_grad():
            model.bbox_head.vfnet_cls.bias.copy_(saved)
    assert test_cfg.nms.type == 'soft_nms'
    sizes = sorted(counts.values(), reverse=True)
    if dominant > others:  # the mix that crashed: one class with far more candidates than the others
        assert len(sizes) > 5 and sizes[0] > 10 * sizes[1], sizes
    assert sum(len(d) for d in got) == test_cfg.max_per_img
    for c, (a, b) in enumerate(zip(got, expected)):
        assert a.shape == b.shape, c
        np.testing.assert_allclose(a, b, atol=1e-5)
