"""DetInferencer (mmdet/apis/det_inferencer.py), the batched inference_detector, demo/image_demo.py on a
folder and tools/analysis_tools/benchmark_inference.py, with a VFNet-R18 trained for 2 epochs on the
generated shapes and image files written here."""
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmdet.apis.det_inferencer import DetDataSample, DetInferencer, resolve_palette
from mmdet.apis.inference import inference_detector, show_result
from mmdet.deployment.verify import compare_results
from tests.conftest import ROOT, run_env, write_user_config

SHAPE = (128, 160)  # the padded size of every image of `images` in the test pipeline


@pytest.fixture(scope='session')
def det_model(tmp_path_factory, shapes_data):
    """Config and checkpoint of a VFNet-R18 trained by tools/train.py for 2 epochs on the shapes."""
    root = tmp_path_factory.mktemp('inferencer_model')
    cfg = write_user_config(root / 'vfnet_r18_shapes.py', shapes_data)
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', str(root / 'w'),
                          '--seed', '0', '--no-validate'], cwd=ROOT, env=run_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(cfg=cfg, ckpt=str(root / 'w' / 'epoch_2.pth'))


@pytest.fixture(scope='module')
def inferencer(det_model):
    return DetInferencer(model=det_model['cfg'], weights=det_model['ckpt'], device='cpu', show_progress=False)


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """A folder of 5 generated shapes images (4 .jpg, 1 .png), all padded to SHAPE by the test pipeline,
    and a text file that is not an image."""
    from mmdet.datasets.synthetic import make_image
    folder = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(7)
    for i in range(5):
        img = make_image(rng, size_range=((100, 128), (130, 160)), max_objects=3, min_obj=16)[0]
        assert cv2.imwrite(str(folder / f'img_{i}.{"png" if i == 4 else "jpg"}'), img)
    (folder / 'notes.txt').write_text('not an image')
    return folder


def paths_of(folder):
    return sorted(str(folder / n) for n in os.listdir(folder) if n.endswith(('.jpg', '.png')))


def assert_same(inferencer, a, b, tol=1e-4):
    """Two predictions agree: same detections per class, boxes and scores within ``tol`` (paired, as ties
    among low scores may swap places)."""
    ok, msg = compare_results(inferencer.to_2x(a), inferencer.to_2x(b), box_tol=tol, score_tol=tol)
    assert ok, msg
    assert sorted(a['labels']) == sorted(b['labels']) and len(a['scores']) > 0


class BackboneInputs:
    """The input shape of every backbone call of ``model``: one entry per forward pass."""

    def __init__(self, model):
        self.model, self.shapes = model, []

    def __enter__(self):
        self.handle = self.model.backbone.register_forward_hook(
            lambda m, args, out: self.shapes.append(tuple(args[0].shape)))
        return self.shapes

    def __exit__(self, *exc):
        self.handle.remove()


def load_script(rel):
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(rel))[0], osp.join(ROOT, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------ batching

def test_batched_equals_one_by_one(inferencer, images):
    paths = paths_of(images)
    with BackboneInputs(inferencer.model) as shapes:
        one = inferencer(paths, batch_size=1)['predictions']
    assert shapes == [(1, 3, *SHAPE)] * 5
    with BackboneInputs(inferencer.model) as shapes:
        batched = inferencer(paths, batch_size=4)['predictions']
    assert shapes == [(4, 3, *SHAPE), (1, 3, *SHAPE)]  # 2 forward passes for 5 images
    for a, b, path in zip(one, batched, paths):
        assert a['img_path'] == b['img_path'] == path
        assert a['ori_shape'] == b['ori_shape'] == list(cv2.imread(path).shape[:2])
        assert_same(inferencer, a, b)
        assert a['scores'] == sorted(a['scores'], reverse=True)
        assert a['label_names'] == [inferencer.classes[i] for i in a['labels']]


def test_inference_detector_is_one_forward_for_a_list(inferencer, images, tmp_path):
    model, paths = inferencer.model, paths_of(images)[:3]
    with BackboneInputs(model) as shapes:
        results = inference_detector(model, paths)
    assert shapes == [(3, 3, *SHAPE)]
    # the inferencer with one batch of the same images makes the same computation: identical results
    same = inferencer(paths, batch_size=3, return_2x=True)['predictions']
    for r, s in zip(results, same):
        assert len(r) == len(s) == 3 and all(np.array_equal(x, y) for x, y in zip(r, s))
    single = inference_detector(model, paths[0])
    assert compare_results(single, results[0], box_tol=1e-4, score_tol=1e-4)[0]
    assert inference_detector(model, []) == []
    drawn = show_result(model, paths[0], single, score_thr=0.0, out_file=str(tmp_path / 'd.jpg'))
    assert drawn.shape == cv2.imread(paths[0]).shape and cv2.imread(str(tmp_path / 'd.jpg')) is not None


def test_mixed_sizes_are_padded_per_batch(inferencer, images):
    big = cv2.imread(paths_of(images)[0])  # pads to SHAPE
    small = cv2.resize(big, (200, 60))  # resized to 48x160, pads to 64x160
    with BackboneInputs(inferencer.model) as shapes:
        both = inferencer([small, big], batch_size=2)['predictions']
        alone = inferencer([small, big], batch_size=1)['predictions']
    assert shapes == [(2, 3, *SHAPE), (1, 3, 64, 160), (1, 3, *SHAPE)]
    assert [p['ori_shape'] for p in both] == [[60, 200], list(big.shape[:2])]
    assert [p['img_path'] for p in both] == ['00000000.jpg', '00000001.jpg']
    assert_same(inferencer, both[1], alone[1])  # the largest image of the batch is not padded further
    boxes = np.asarray(both[0]['bboxes'])  # the small image's boxes are in its own pixels
    assert len(boxes) and boxes[:, [0, 2]].max() <= 200 + 1e-3 and boxes[:, [1, 3]].max() <= 60 + 1e-3


# -------------------------------------------------------------------------------------------------- inputs

def _write_video(path, frames):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 5.0, frames[0].shape[1::-1])
    for f in frames:
        writer.write(f)
    writer.release()


def test_folder_glob_list_array_and_video_inputs(inferencer, images, tmp_path):
    paths = paths_of(images)
    by_folder = inferencer(str(images), batch_size=2)['predictions']
    assert [p['img_path'] for p in by_folder] == paths  # notes.txt skipped
    by_list = inferencer(paths, batch_size=3)['predictions']
    for a, b in zip(by_folder, by_list):
        assert_same(inferencer, a, b)
    by_glob = inferencer(str(images / '*.jpg'))['predictions']
    assert [p['img_path'] for p in by_glob] == [p for p in paths if p.endswith('.jpg')]
    (tmp_path / 'nested' / 'deeper').mkdir(parents=True)
    deep = tmp_path / 'nested' / 'deeper' / 'deep.png'
    deep.write_bytes(open(paths[4], 'rb').read())
    assert [p['img_path'] for p in inferencer(str(tmp_path / '**' / '*.png'))['predictions']] == [str(deep)]

    arrays = [cv2.imread(p) for p in paths[:2]]
    mixed = inferencer([paths[2], arrays[0], arrays[1]], batch_size=3)['predictions']
    assert [p['img_path'] for p in mixed] == [paths[2], '00000001.jpg', '00000002.jpg']
    assert_same(inferencer, mixed[1], by_folder[0])
    assert_same(inferencer, inferencer(arrays[1])['predictions'][0], by_folder[1])

    frames = [cv2.resize(cv2.imread(p), SHAPE[::-1]) for p in paths[:3]]
    _write_video(tmp_path / 'clip.mp4', frames)
    cap, decoded = cv2.VideoCapture(str(tmp_path / 'clip.mp4')), []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        decoded.append(frame)
    assert len(decoded) == 3
    by_video = inferencer(str(tmp_path / 'clip.mp4'), batch_size=2, out_dir=str(tmp_path / 'v'))['predictions']
    assert [p['img_path'] for p in by_video] == [f'clip_00000{i}.jpg' for i in range(3)]
    for p, frame in zip(by_video, inferencer(decoded)['predictions']):
        assert_same(inferencer, p, frame)
    assert sorted(os.listdir(tmp_path / 'v' / 'preds')) == [f'clip_00000{i}.json' for i in range(3)]


def test_bad_inputs_fail_naming_them(inferencer, tmp_path):
    with pytest.raises(FileNotFoundError, match='no_such.jpg'):
        inferencer(str(tmp_path / 'no_such.jpg'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no images .* in folder .*empty'):
        inferencer(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match=r'no image files match .*\*\.jpg'):
        inferencer(str(tmp_path / 'empty' / '*.jpg'))
    with pytest.raises(ValueError, match=r'input 1: an image array is \(H, W, 3\) BGR, got shape \(4, 4\)'):
        inferencer([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)])
    with pytest.raises(TypeError, match='got int'):
        inferencer(3)
    with pytest.raises(ValueError, match='batch_size'):
        inferencer(np.zeros((32, 32, 3), np.uint8), batch_size=0)


# ------------------------------------------------------------------------------------------------- outputs

def test_preds_and_vis_files(inferencer, images, tmp_path):
    paths = paths_of(images)
    out = inferencer(str(images), batch_size=2, out_dir=str(tmp_path / 'o'), pred_score_thr=0.0, return_vis=True)
    assert sorted(os.listdir(tmp_path / 'o' / 'preds')) == [f'img_{i}.json' for i in range(5)]
    assert sorted(os.listdir(tmp_path / 'o' / 'vis')) == sorted(osp.basename(p) for p in paths)
    for path, pred, drawn in zip(paths, out['predictions'], out['visualization']):
        name = osp.basename(path)
        with open(tmp_path / 'o' / 'preds' / (osp.splitext(name)[0] + '.json')) as f:
            assert json.load(f) == pred
        original = cv2.imread(path)
        assert drawn.shape == original.shape and (drawn != original).any()  # boxes drawn at threshold 0
        saved = cv2.imread(str(tmp_path / 'o' / 'vis' / name))
        assert saved.shape == original.shape
        if name.endswith('.png'):
            assert np.array_equal(saved, drawn)
    # above every score, or draw_pred=False: the drawing is the image
    above = max(max(p['scores']) for p in out['predictions'])
    plain = inferencer(paths[:2], pred_score_thr=above, return_vis=True)['visualization']
    assert all(np.array_equal(d, cv2.imread(p)) for d, p in zip(plain, paths))
    undrawn = inferencer(paths[:1], pred_score_thr=0.0, draw_pred=False, return_vis=True)['visualization'][0]
    assert np.array_equal(undrawn, cv2.imread(paths[0]))
    # what is not asked for is neither written nor kept
    res = inferencer(paths[:2], out_dir=str(tmp_path / 'n'), no_save_vis=True)
    assert os.listdir(tmp_path / 'n') == ['preds'] and res['visualization'] == [None, None]
    inferencer(paths[:2], out_dir=str(tmp_path / 'm'), no_save_pred=True)
    assert os.listdir(tmp_path / 'm') == ['vis'] and len(os.listdir(tmp_path / 'm' / 'vis')) == 2
    # two inputs whose outputs would overwrite each other
    with pytest.raises(ValueError, match='two inputs are named img_0.jpg'):
        inferencer([paths[0], paths[0]], out_dir=str(tmp_path / 'dup'))


def test_palette_colours_the_boxes(inferencer, images):
    path = paths_of(images)[4]  # the png
    red = DetInferencer(inferencer.model, palette=[(255, 0, 0)], show_progress=False)
    drawn = red(path, pred_score_thr=0.0, return_vis=True)['visualization'][0]
    original = cv2.imread(path)
    is_red = lambda img: (img == (0, 0, 255)).all(-1)  # noqa: E731  (BGR)
    assert is_red(drawn).sum() > 100 + is_red(original).sum()
    assert resolve_palette('none', 3) == resolve_palette('random', 3) == resolve_palette(None, 3)
    assert resolve_palette((0, 128, 255), 2) == [(255, 128, 0)] * 2
    assert resolve_palette([(1, 2, 3), (4, 5, 6)], 3) == [(3, 2, 1), (6, 5, 4), (3, 2, 1)]
    for bad in ('coco_colours', [(300, 0, 0)], [(1, 2)], []):
        with pytest.raises(ValueError, match='palette'):
            resolve_palette(bad, 3)


def test_progress_bar_and_print_result(det_model, images, capsys):
    loud = DetInferencer(model=det_model['cfg'], weights=det_model['ckpt'], device='cpu')
    loud(str(images), batch_size=2, print_result=True)
    captured = capsys.readouterr()
    assert re.search(r'5/5 .*img/s', captured.err), captured.err[-500:]
    assert captured.out.startswith("{'predictions': [{'bboxes': [[")


def test_result_forms(inferencer, images):
    paths = paths_of(images)[:2]
    preds = inferencer(paths, batch_size=2)['predictions']
    samples = inferencer(paths, batch_size=2, return_datasamples=True)['predictions']
    as_2x = inferencer(paths, batch_size=2, return_2x=True)['predictions']
    for pred, sample, result in zip(preds, samples, as_2x):
        assert isinstance(sample, DetDataSample) and sample.img_path == pred['img_path']
        inst = sample.pred_instances
        assert inst.bboxes.shape == (len(pred['scores']), 4) and inst.labels.dtype == torch.int64
        assert torch.equal(inst.scores, torch.tensor(pred['scores'], dtype=torch.float32))
        assert sample.metainfo['ori_shape'] == tuple(pred['ori_shape'])
        # the 2.x form round-trips exactly
        back = inferencer.to_2x(pred)
        assert len(back) == len(result) == len(inferencer.classes)
        assert all(np.array_equal(x, y) for x, y in zip(back, result))
    with pytest.raises(ValueError, match='choose one'):
        inferencer(paths, return_2x=True, return_datasamples=True)


# ---------------------------------------------------------------------------------------------- COCO json

def test_coco_json_loads_with_pycocotools(inferencer, images, tmp_path):
    from pycocotools.coco import COCO
    paths = paths_of(images)
    out = inferencer(str(images), batch_size=2, coco_json=str(tmp_path / 'res.bbox.json'))
    # a COCO of the same image list, built independently: ids 1.. in file order, no annotations
    gt = COCO()
    gt.dataset = dict(images=[dict(id=i + 1, file_name=osp.basename(p), height=cv2.imread(p).shape[0],
                                   width=cv2.imread(p).shape[1]) for i, p in enumerate(paths)],
                      categories=[dict(id=i + 1, name=n) for i, n in enumerate(inferencer.classes)],
                      annotations=[])
    gt.createIndex()
    res = gt.loadRes(str(tmp_path / 'res.bbox.json'))
    assert len(res.getAnnIds()) == sum(len(p['scores']) for p in out['predictions'])
    first = res.loadAnns(res.getAnnIds(imgIds=[1]))
    pred = out['predictions'][0]
    assert len(first) == len(pred['scores'])
    best = max(first, key=lambda a: a['score'])
    x1, y1, x2, y2 = pred['bboxes'][0]
    assert best['category_id'] == pred['labels'][0] + 1
    assert np.allclose(best['bbox'], [x1, y1, x2 - x1, y2 - y1], atol=1e-4)
    with open(tmp_path / 'res.bbox.images.json') as f:  # the file name -> id mapping, itself a COCO file
        mapping = json.load(f)
    assert mapping['images'] == gt.dataset['images'] and mapping['categories'] == gt.dataset['categories']
    assert len(COCO(str(tmp_path / 'res.bbox.images.json')).loadRes(str(tmp_path / 'res.bbox.json')).anns) == \
        len(res.anns)
    # ids given as a mapping or a list
    ids = {osp.basename(p): 10 * (i + 1) for i, p in enumerate(paths)}
    inferencer.to_coco_json(out, tmp_path / 'ids.json', image_ids=ids)
    with open(tmp_path / 'ids.json') as f:
        assert {d['image_id'] for d in json.load(f)} == set(ids.values())
    with pytest.raises(KeyError, match='img_4.png'):
        inferencer.to_coco_json(out, tmp_path / 'x.json', image_ids={k: v for k, v in ids.items() if '4' not in k})
    with pytest.raises(ValueError, match='3 image_ids for 5 predictions'):
        inferencer.to_coco_json(out, tmp_path / 'x.json', image_ids=[1, 2, 3])


def test_coco_json_with_annotation_ids_evaluates_as_the_dataset(inferencer, det_model, shapes_data, tmp_path):
    """Ids from an annotation file of the same images (image ids 100, 99, ..., categories listed in another
    order with ids 7, 5, 3): COCOeval of the written json equals the dataset's own evaluation of the same
    detections."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from mmdet.datasets import build_dataset
    from mmdet.utils import Config
    with open(osp.join(shapes_data, 'annotations', 'instances_val.json')) as f:
        data = json.load(f)
    img_map = {im['id']: 100 - i for i, im in enumerate(data['images'])}
    cat_map = {c['id']: 7 - 2 * i for i, c in enumerate(data['categories'])}
    for im in data['images']:
        im['id'] = img_map[im['id']]
    for a in data['annotations']:
        a['image_id'], a['category_id'] = img_map[a['image_id']], cat_map[a['category_id']]
    for c in data['categories']:
        c['id'] = cat_map[c['id']]
    data['categories'] = data['categories'][::-1]
    ann = str(tmp_path / 'remapped_val.json')
    with open(ann, 'w') as f:
        json.dump(data, f)

    out = inferencer(osp.join(shapes_data, 'val'), batch_size=2, coco_json=str(tmp_path / 'val.bbox.json'),
                     image_ids=ann)
    cfg = Config.fromfile(det_model['cfg'])
    cfg.data.test.ann_file = ann
    dataset = build_dataset(cfg.data.test)
    by_file = {info['filename']: i for i, info in enumerate(dataset.data_infos)}
    results = [None] * len(dataset)
    for p in out['predictions']:
        results[by_file[osp.basename(p['img_path'])]] = inferencer.to_2x(p)
    with contextlib.redirect_stdout(io.StringIO()):
        expected = dataset.evaluate(results, metric='bbox')['bbox_mAP_copypaste']
        gt = COCO(ann)
        ev = COCOeval(gt, gt.loadRes(str(tmp_path / 'val.bbox.json')), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ' '.join(f'{v:.3f}' for v in ev.stats[:6]) == expected and float(expected.split()[1]) > 0, expected
    with open(tmp_path / 'val.bbox.images.json') as f:
        mapping = json.load(f)
    assert {im['file_name']: im['id'] for im in mapping['images']} == \
        {im['file_name']: im['id'] for im in data['images']}
    assert [(c['id'], c['name']) for c in mapping['categories']] == [(7, 'ellipse'), (5, 'rectangle'), (3, 'triangle')]


# --------------------------------------------------------------------------------------------------- ONNX

def test_onnx_backend(det_model, images, tmp_path):
    pytest.importorskip('onnxruntime', reason='the deploy extra is not installed: pip install -e ".[deploy]"')
    pytest.importorskip('onnxscript', reason='the deploy extra is not installed: pip install -e ".[deploy]"')
    from mmdet.apis import init_detector
    from mmdet.deployment import export_onnx
    onnx_file = str(tmp_path / 'model.onnx')
    export_onnx(init_detector(det_model['cfg'], det_model['ckpt']), onnx_file, shape=SHAPE, logger=lambda *a: None)
    torch_inf = DetInferencer(model=det_model['cfg'], weights=det_model['ckpt'], device='cpu', show_progress=False)
    onnx_inf = DetInferencer(model=onnx_file, weights=None, config=det_model['cfg'], show_progress=False)
    assert onnx_inf.backend == 'onnxruntime' and onnx_inf.classes == torch_inf.classes
    ref = torch_inf(str(images), batch_size=2)['predictions']
    got = onnx_inf(str(images), batch_size=2, out_dir=str(tmp_path / 'o'), coco_json=str(tmp_path / 'r.json'))
    assert len(got['predictions']) == 5 and len(os.listdir(tmp_path / 'o' / 'vis')) == 5
    for r, g in zip(ref, got['predictions']):
        ok, msg = compare_results(torch_inf.to_2x(r), onnx_inf.to_2x(g), box_tol=0.01, score_tol=1e-4)
        assert ok, msg
    with pytest.raises(ValueError, match='config='):
        DetInferencer(model=onnx_file)
    with pytest.raises(ValueError, match='weights=None'):
        DetInferencer(model=onnx_file, weights=det_model['ckpt'], config=det_model['cfg'])
    demo = load_script('demo/image_demo.py')
    demo.main([str(images), det_model['cfg'], onnx_file, '--backend', 'onnxruntime', '--batch-size', '2',
               '--out-dir', str(tmp_path / 'd'), '--score-thr', '0.005'])
    assert len(os.listdir(tmp_path / 'd' / 'preds')) == 5
    demo.main([paths_of(images)[0], det_model['cfg'], onnx_file, '--backend', 'onnxruntime', '--out-file',
               str(tmp_path / 'one.jpg')])
    assert cv2.imread(str(tmp_path / 'one.jpg')) is not None
    with pytest.raises(SystemExit):  # an .onnx file without --backend onnxruntime
        demo.main([str(images), det_model['cfg'], onnx_file])


# ------------------------------------------------------------------------------------------------- tools

def test_image_demo_folder_batch_size_2(det_model, images, tmp_path, capsys, monkeypatch):
    from mmdet.apis import det_inferencer
    sizes, real = [], det_inferencer.inference_batch
    monkeypatch.setattr(det_inferencer, 'inference_batch', lambda model, items: sizes.append(len(items)) or
                        real(model, items))
    demo = load_script('demo/image_demo.py')
    out = tmp_path / 'out'
    demo.main([str(images), det_model['cfg'], det_model['ckpt'], '--batch-size', '2', '--out-dir', str(out),
               '--score-thr', '0.005', '--coco-json', str(out / 'results.bbox.json')])
    printed = capsys.readouterr().out
    assert sizes == [2, 2, 1]
    assert sorted(os.listdir(out / 'vis')) == sorted(osp.basename(p) for p in paths_of(images))
    assert len(os.listdir(out / 'preds')) == 5 and (out / 'results.bbox.images.json').is_file()
    assert re.search(r'5 images, \d+ detections above 0.005: drawn to .*vis, predictions in .*preds', printed)
    # one image, as before: --out-file
    demo.main([paths_of(images)[0], det_model['cfg'], det_model['ckpt'], '--score-thr', '0.005', '--out-file',
               str(tmp_path / 'one' / 'drawn.jpg')])
    assert 'drawn to' in capsys.readouterr().out and cv2.imread(str(tmp_path / 'one' / 'drawn.jpg')) is not None
    with pytest.raises(SystemExit):
        demo.main([str(images), det_model['cfg'], det_model['ckpt'], '--out-file', str(tmp_path / 'x.jpg')])


def test_benchmark_inference_prints_images_per_second(det_model, images, capsys):
    bench = load_script('tools/analysis_tools/benchmark_inference.py')
    rows = bench.main([det_model['cfg'], det_model['ckpt'], str(images), '--batch-size', '2', '--max-images', '4',
                       '--device', 'cpu', '--warmup', '0'])
    printed = capsys.readouterr().out
    assert [r['batch_size'] for r in rows] == [1, 2] and all(r['images'] == 4 for r in rows)
    speeds = [float(v) for v in re.findall(r'batch size \d: ([0-9.]+) images/s \(4 images in', printed)]
    assert len(speeds) == 2 and all(s > 0 for s in speeds) and 'x one by one' in printed, printed
