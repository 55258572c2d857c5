"""ONNX export of whole detectors, checked against PyTorch in onnxruntime.

Seed configs with deterministic weights (``tests/fidelity.py``) at a low
score threshold, so that every image yields the full 100 detections and the
NMS (soft-NMS for VFNet-X, past the split threshold) really has work to do."""
import glob
import multiprocessing
import os.path as osp
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import torch

pytest.importorskip('onnxruntime', reason='the deploy extra is not installed: pip install -e ".[deploy]"')
pytest.importorskip('onnxscript', reason='the deploy extra is not installed: pip install -e ".[deploy]"')

from mmdet.datasets.pipelines import Compose  # noqa: E402
from mmdet.deployment import (ONNXRuntimeDetector, compare_results, export_onnx,  # noqa: E402
                              multiclass_nms_graph)
from mmdet.models import build_detector  # noqa: E402
from mmdet.parallel import unwrap  # noqa: E402
from mmdet.utils import Config  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.fidelity import fill_deterministic  # noqa: E402


def seed_model(name, score_thr=0.005, backbone=None, **test_cfg):
    cfg = Config.fromfile(glob.glob(osp.join(ROOT, 'configs', '**', name), recursive=True)[0])
    cfg.model.pretrained = None
    cfg.model.backbone.update(backbone or {})
    cfg.model.test_cfg.update(score_thr=score_thr, **test_cfg)
    model = build_detector(cfg.model).eval()
    fill_deterministic(model)
    return model, cfg


def image_data(cfg, hw, scale, seed=0):
    """A random BGR image of size ``hw`` through the test pipeline resized to ``scale`` (w, h)."""
    img = (np.random.RandomState(seed).rand(*hw, 3) * 255).astype(np.uint8)
    steps = [dict(s) for s in cfg.data.test.pipeline]
    steps[0] = dict(steps[0], type='LoadImageFromWebcam')
    steps[1] = dict(steps[1], img_scale=scale)
    return unwrap(Compose(steps)(dict(img=img)))  # the pipeline's values, out of their DataContainers


def pytorch_result(model, data):
    meta = dict(data['img_metas'][0])
    x = data['img'][0][None]
    meta['batch_input_shape'] = tuple(x.shape[-2:])
    with torch.no_grad():
        return model.simple_test(x, [meta], rescale=True)[0]


EXPORT_CASES = {
    # dynamic height/width, DeformConv op for the star-shaped deformable conv
    'vfnet_r50': ('vfnet_r50_fpn_1x_coco.py', None, dict(dynamic=True, dcn='deformconv', shape=(256, 320))),
    # DCNv2 in the backbone (c5 here, with its strided first block, rather than c3-c5) and in the head,
    # deformable convs as GridSample + MatMul
    # (this graph and the next are left unoptimized - optimize=False -, a third faster to export; the first
    # one and the static export below go through onnxscript's optimizer as users' exports do)
    'vfnet_r50_mdconv': ('vfnet_r50_fpn_mdconv_c3-c5_mstrain_2x_coco.py',
                         dict(stage_with_dcn=(False, False, False, True)),
                         dict(dynamic=True, dcn='sampled', shape=(256, 320), optimize=False)),
    # Res2Net (50 deep rather than 101: the same blocks), PAFPNX with DCNv2 + GN, 4 x 384 head, soft-NMS
    'vfnetx': ('vfnetx_r2_101_fpn_mdconv_c3-c5_mstrain_59e_coco.py', dict(depth=50),
               dict(dynamic=True, dcn='deformconv', shape=(256, 320), optimize=False)),
}


def _export_case(key, path):
    torch.set_num_threads(1)
    name, backbone, kw = EXPORT_CASES[key]
    export_onnx(seed_model(name, backbone=backbone)[0], path, logger=lambda *a: None, **kw)


@pytest.fixture(scope='session')
def exported(tmp_path_factory):
    """Each model exported once: {name: (model, cfg, onnx path)}.  Exporting is single-threaded Python taking
    1-2 min a model here (it grows with the graph, hence the smaller variants), so the models are exported in
    parallel processes; the weights depend only on the layout, so the models built here are the same."""
    out = tmp_path_factory.mktemp('onnx')
    paths = {key: str(out / f'{key}.onnx') for key in EXPORT_CASES}
    with ProcessPoolExecutor(len(paths), mp_context=multiprocessing.get_context('spawn')) as pool:
        for job in [pool.submit(_export_case, key, path) for key, path in paths.items()]:
            job.result()
    return {key: (*seed_model(name, backbone=backbone), paths[key])
            for key, (name, backbone, _) in EXPORT_CASES.items()}


@pytest.mark.parametrize('key,hw,scale', [
    ('vfnet_r50', (300, 400), (320, 240)),    # padded to 256 x 320
    ('vfnet_r50', (480, 500), (416, 352)),    # another size, same dynamic model
    ('vfnet_r50_mdconv', (400, 500), (320, 256)),
    ('vfnet_r50_mdconv', (300, 600), (448, 224)),
    ('vfnetx', (300, 400), (320, 240)),
    ('vfnetx', (200, 340), (384, 192)),
])
def test_onnxruntime_matches_pytorch(exported, key, hw, scale):
    model, cfg, path = exported[key]
    data = image_data(cfg, hw, scale)
    ref = pytorch_result(model, data)
    got = ONNXRuntimeDetector(path, cfg, threads=2).test_data(data)
    assert sum(len(r) for r in ref) == 100  # the NMS had candidates to cut
    ok, msg = compare_results(ref, got, box_tol=0.01, score_tol=1e-4)
    assert ok, msg


def test_image_without_detections_and_static_shape(tmp_path):
    """Scores all below the threshold: PyTorch and the exported graph give no
    detection, and onnxruntime returns empty (0, 5) arrays.  A static export
    refuses another input size."""
    model, cfg = seed_model('vfnet_r50_fpn_1x_coco.py', score_thr=0.5)
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    model = build_detector(cfg.model).eval()
    fill_deterministic(model)
    path = str(tmp_path / 'empty.onnx')
    export_onnx(model, path, shape=(128, 160), dynamic=False, logger=lambda *a: None)
    data = image_data(cfg, (120, 160), (160, 128))
    ref = pytorch_result(model, data)
    detector = ONNXRuntimeDetector(path, cfg)
    got = detector.test_data(data)
    assert sum(len(r) for r in ref) == 0
    assert len(got) == 80 and all(g.shape == (0, 5) for g in got)
    with pytest.raises(Exception, match='input'):
        detector.test_data(image_data(cfg, (120, 160), (320, 256)))


@pytest.mark.parametrize('nms', [dict(type='nms', iou_threshold=0.5),
                                 dict(type='soft_nms', iou_threshold=0.5),
                                 dict(type='soft_nms', iou_threshold=0.5, split_thr=20, method='gaussian')])
def test_graph_nms_equals_multiclass_nms(nms):
    from mmdet.core import multiclass_nms
    g = torch.Generator().manual_seed(4)
    xy = torch.rand(40, 2, generator=g) * 60
    boxes = torch.cat([xy, xy + 10 + torch.rand(40, 2, generator=g) * 30], 1)
    scores = torch.rand(40, 3, generator=g)
    dets, labels = multiclass_nms(boxes, torch.cat([scores, torch.zeros(40, 1)], 1), 0.2, nms, 25)
    gdets, glabels = multiclass_nms_graph(boxes, scores, 0.2, nms, 25)
    assert torch.equal(labels, glabels)
    assert torch.allclose(dets, gdets, atol=1e-6)
    none, none_labels = multiclass_nms_graph(boxes, scores, 2.0, nms, 25)
    assert none.shape == (0, 5) and none_labels.shape == (0,)


def test_missing_runtime_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match=r'pip install "onnxruntime"'):
        ONNXRuntimeDetector('x.onnx', Config(dict(model=dict(bbox_head=dict(num_classes=3)))))


def test_export_refuses_unsupported_heads():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'atss', 'atss_r50_fpn_1x_coco.py'))
    cfg.model.pretrained = None
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    with pytest.raises(NotImplementedError, match='ATSSHead'):
        export_onnx(build_detector(cfg.model).eval(), 'x.onnx', shape=(64, 64))


def test_pytorch2onnx_tool_reports_missing_checkpoint(tmp_path):
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'deployment', 'pytorch2onnx.py'),
                          osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'), str(tmp_path / 'no.pth'),
                          '--output-file', str(tmp_path / 'x.onnx')], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and 'no.pth' in out.stderr
