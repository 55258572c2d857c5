"""The user's journey through the real tools, as subprocesses (torchrun + gloo for the dist ones)."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT, run_env, write_user_config


def run(args, cwd=ROOT, timeout=300, check=True):
    env = run_env()
    env['PYTHON'] = sys.executable
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f'{args} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}')
    return out


def py(script, *args, **kw):
    return run([sys.executable, osp.join(ROOT, script), *map(str, args)], **kw)


def bbox_map(text):
    m = re.search(r"'bbox_mAP': ([0-9.]+)", text)
    assert m, text[-2000:]
    return float(m.group(1))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, shapes_data):
    root = tmp_path_factory.mktemp('train')
    cfg = write_user_config(root / 'my_vfnet_r18.py', shapes_data)
    work = root / 'work'
    out = py('tools/train.py', cfg, '--work-dir', work, '--seed', 0)
    return dict(cfg=cfg, work=work, log=out.stdout + out.stderr)


def test_train_writes_checkpoints_and_logs(trained):
    work = trained['work']
    assert (work / 'epoch_1.pth').is_file() and (work / 'epoch_2.pth').is_file()
    assert osp.realpath(work / 'latest.pth') == osp.realpath(work / 'epoch_2.pth')
    assert list(work.glob('*.log.json')) and (work / 'my_vfnet_r18.py').is_file()
    assert 'bbox_mAP' in trained['log'] and 'eta:' in trained['log']
    ckpt = torch.load(work / 'epoch_2.pth', weights_only=False)
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['CLASSES'] == ['ellipse', 'rectangle', 'triangle']


def test_test_eval_and_dist_test_agree(trained, tmp_path):
    single = py('tools/test.py', trained['cfg'], trained['work'] / 'epoch_2.pth', '--eval', 'bbox',
                '--out', tmp_path / 'single.pkl')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in single.stdout + single.stderr
    env_port = dict(PORT='29611')
    os.environ.update(env_port)
    try:
        dist = run(['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), trained['cfg'],
                    str(trained['work'] / 'epoch_2.pth'), '2', '--eval', 'bbox', '--out', str(tmp_path / 'dist.pkl')])
    finally:
        os.environ.pop('PORT')
    assert bbox_map(dist.stdout) == bbox_map(single.stdout)
    assert re.search(r"'bbox_mAP_copypaste': '([^']+)'", dist.stdout).group(1) == \
        re.search(r"'bbox_mAP_copypaste': '([^']+)'", single.stdout).group(1)
    # not only the summary: every detection of every image, in dataset order
    import pickle
    from mmdet.apis.test import results_equal
    a, b = (pickle.load(open(tmp_path / f, 'rb')) for f in ('single.pkl', 'dist.pkl'))
    assert len(a) == 4 and sum(len(d) for r in a for d in r) > 0
    assert results_equal(a, b)


def test_test_out_pickle_and_format_only(trained, tmp_path):
    py('tools/test.py', trained['cfg'], trained['work'] / 'epoch_2.pth', '--out', tmp_path / 'r.pkl',
       '--format-only', '--eval-options', f'jsonfile_prefix={tmp_path / "res"}')
    assert (tmp_path / 'r.pkl').is_file() and (tmp_path / 'res.bbox.json').is_file()


def test_dist_train_two_processes(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'cfg.py', shapes_data, epochs=1)
    os.environ['PORT'] = '29623'
    try:
        run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg, '2', '--work-dir', str(tmp_path / 'w'),
             '--no-validate', '--seed', '0'])
    finally:
        os.environ.pop('PORT')
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()


def test_image_demo_and_analyze_logs_and_print_config(trained, shapes_data, tmp_path):
    img = osp.join(shapes_data, 'val', 'val_00000.jpg')
    out = py('demo/image_demo.py', img, trained['cfg'], trained['work'] / 'epoch_2.pth', '--score-thr', '0.01',
             '--out-file', tmp_path / 'drawn.jpg')
    assert (tmp_path / 'drawn.jpg').is_file() and 'drawn to' in out.stdout
    log = sorted(trained['work'].glob('*.log.json'))[0]
    py('tools/analysis_tools/analyze_logs.py', 'plot_curve', log, '--keys', 'loss', 'bbox_mAP', '--out',
       tmp_path / 'curves.png')
    assert (tmp_path / 'curves.png').stat().st_size > 1000
    assert 'average iter time' in py('tools/analysis_tools/analyze_logs.py', 'cal_train_time', log).stdout
    printed = py('tools/misc/print_config.py', trained['cfg']).stdout
    assert "type='VFNet'" in printed and 'ResNet' in printed


def test_bad_type_fails_with_one_line_naming_it(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'bad.py', shapes_data, extra="model = dict(type='VFNett')\n")
    out = py('tools/train.py', cfg, '--work-dir', tmp_path / 'w', check=False)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert 'VFNett' in last and "'VFNet'" in last and 'Traceback' not in out.stderr


def test_missing_base_fails_naming_it(tmp_path):
    (tmp_path / 'c.py').write_text("_base_ = './missing_base.py'\n")
    out = py('tools/train.py', tmp_path / 'c.py', check=False)
    assert out.returncode != 0 and 'missing_base.py' in out.stderr.strip().splitlines()[-1]


def test_resume_gives_the_same_weights(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'cfg.py', shapes_data, epochs=2)
    py('tools/train.py', cfg, '--work-dir', tmp_path / 'full', '--seed', '0', '--deterministic', '--no-validate')
    py('tools/train.py', cfg, '--work-dir', tmp_path / 'part', '--seed', '0', '--deterministic', '--no-validate',
       '--cfg-options', 'runner.max_epochs=1')
    py('tools/train.py', cfg, '--work-dir', tmp_path / 'part', '--seed', '0', '--deterministic', '--no-validate',
       '--resume-from', tmp_path / 'part' / 'epoch_1.pth')
    a = torch.load(tmp_path / 'full' / 'epoch_2.pth', weights_only=False)['state_dict']
    b = torch.load(tmp_path / 'part' / 'epoch_2.pth', weights_only=False)['state_dict']
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst <= 1e-5, worst


def test_truncated_image_named_in_failure(tmp_path, shapes_data):
    import shutil
    root = tmp_path / 'data'
    shutil.copytree(shapes_data, root)
    victim = root / 'train' / 'train_00003.jpg'
    victim.write_bytes(victim.read_bytes()[:64])
    cfg = write_user_config(tmp_path / 'cfg.py', str(root), epochs=1)
    out = py('tools/train.py', cfg, '--work-dir', tmp_path / 'w', '--no-validate', check=False)
    assert out.returncode != 0
    assert 'train_00003.jpg' in '\n'.join(out.stderr.strip().splitlines()[-3:])


def test_onnx_export_verify_evaluate_and_demo(trained, shapes_data, tmp_path):
    """pytorch2onnx.py --verify, then tools/deployment/test.py --eval bbox gives
    the PyTorch model's numbers, and the image demo runs the .onnx."""
    pytest.importorskip('onnxruntime', reason='the deploy extra is not installed: pip install -e ".[deploy]"')
    pytest.importorskip('onnxscript', reason='the deploy extra is not installed: pip install -e ".[deploy]"')
    ckpt, onnx_file = trained['work'] / 'epoch_2.pth', tmp_path / 'model.onnx'
    img = next(iter(sorted((osp.join(shapes_data, 'val', f) for f in os.listdir(osp.join(shapes_data, 'val'))))))
    out = py('tools/deployment/pytorch2onnx.py', trained['cfg'], ckpt, '--output-file', onnx_file, '--shape', 128, 160,
             '--dynamic-export', '--verify', '--test-img', img, '--no-optimize')  # the optimized graph: test_onnx
    assert 'verify on' in out.stdout and 'OK' in out.stdout and 'not optimized' in out.stdout, out.stdout
    torch_eval = py('tools/test.py', trained['cfg'], ckpt, '--eval', 'bbox')
    onnx_eval = py('tools/deployment/test.py', trained['cfg'], onnx_file, '--eval', 'bbox')
    copy = r"'bbox_mAP_copypaste': '([^']+)'"
    assert bbox_map(onnx_eval.stdout) > 0
    assert re.search(copy, onnx_eval.stdout).group(1) == re.search(copy, torch_eval.stdout).group(1)
    demo = py('demo/image_demo.py', img, trained['cfg'], onnx_file, '--backend', 'onnxruntime', '--score-thr', '0.1',
              '--out-file', tmp_path / 'onnx_demo.jpg')
    assert (tmp_path / 'onnx_demo.jpg').is_file() and 'drawn to' in demo.stdout


def test_analysis_tools_on_saved_results(trained, shapes_data, tmp_path):
    """eval_metric.py equals tools/test.py; analyze_results.py, coco_error_analysis.py
    and browse_dataset.py write images that open."""
    import cv2
    ckpt = trained['work'] / 'epoch_2.pth'
    pkl, prefix = tmp_path / 'res.pkl', tmp_path / 'res'
    direct = py('tools/test.py', trained['cfg'], ckpt, '--eval', 'bbox', '--out', pkl)
    py('tools/test.py', trained['cfg'], ckpt, '--format-only', '--eval-options', f'jsonfile_prefix={prefix}')
    again = py('tools/analysis_tools/eval_metric.py', trained['cfg'], pkl, '--eval', 'bbox')
    copy = r"'bbox_mAP_copypaste': '([^']+)'"
    assert re.search(copy, again.stdout).group(1) == re.search(copy, direct.stdout).group(1)
    fast = py('tools/test.py', trained['cfg'], ckpt, '--eval', 'bbox', '--fuse-conv-bn', '--channels-last')
    assert re.search(copy, fast.stdout).group(1) == re.search(copy, direct.stdout).group(1)
    amp = py('tools/test.py', trained['cfg'], ckpt, '--eval', 'bbox', '--amp')  # bfloat16: close, not equal
    ap = [float(re.search(r"'bbox_mAP': ([0-9.]+)", r.stdout).group(1)) for r in (direct, amp)]
    assert ap[0] > 0 and abs(ap[1] - ap[0]) <= 0.02, ap

    out = py('tools/analysis_tools/analyze_results.py', trained['cfg'], pkl, tmp_path / 'ana', '--topk', 2)
    for kind in ('good', 'bad'):
        files = sorted((tmp_path / 'ana' / kind).iterdir())
        assert len(files) == 2 and all(cv2.imread(str(f)) is not None for f in files)
    assert 'best and 2 worst' in out.stdout

    err = py('tools/analysis_tools/coco_error_analysis.py', f'{prefix}.bbox.json', tmp_path / 'err',
             '--ann', osp.join(shapes_data, 'annotations', 'instances_val.json'))
    pngs = sorted(p.name for p in (tmp_path / 'err' / 'bbox').iterdir())
    assert 'allclass-allarea-bbox.png' in pngs and 'ellipse-small-bbox.png' in pngs
    assert cv2.imread(str(tmp_path / 'err' / 'bbox' / 'allclass-allarea-bbox.png')) is not None
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in err.stdout.splitlines()
            if line.split() and line.split()[0] in ('ellipse', 'rectangle', 'triangle', 'allclass')}
    assert all(r[-1] == 1.0 and r == sorted(r) for r in rows.values())  # each layer relaxes the previous

    browse = py('tools/misc/browse_dataset.py', trained['cfg'], '--output-dir', tmp_path / 'browse', '--limit', 3)
    drawn = sorted((tmp_path / 'browse').iterdir())
    assert len(drawn) == 3 and cv2.imread(str(drawn[0])) is not None and '3 samples' in browse.stdout


def _write_video(path, shapes_data, n=6):
    import cv2
    names = sorted(os.listdir(osp.join(shapes_data, 'val')))
    frames = [cv2.resize(cv2.imread(osp.join(shapes_data, 'val', names[i % len(names)])), (160, 128))
              for i in range(n)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10.0, (160, 128))
    for f in frames:
        writer.write(f)
    writer.release()
    return n


def _frame_count(path):
    import cv2
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def test_video_and_webcam_demos(trained, shapes_data, tmp_path):
    video = tmp_path / 'in.mp4'
    n = _write_video(video, shapes_data)
    assert _frame_count(video) == n
    ckpt = trained['work'] / 'epoch_2.pth'
    out = py('demo/video_demo.py', video, trained['cfg'], ckpt, '--out', tmp_path / 'out.mp4', '--batch-size', 4,
             '--score-thr', 0.1)
    assert _frame_count(tmp_path / 'out.mp4') == n and f'{n} frames written' in out.stdout
    cam = py('demo/webcam_demo.py', trained['cfg'], ckpt, '--camera-id', video, '--max-frames', 3, '--no-show',
             '--out', tmp_path / 'cam.mp4')
    assert cam.stdout.count('fps') >= 3 and _frame_count(tmp_path / 'cam.mp4') == 3
    bad = py('demo/webcam_demo.py', trained['cfg'], ckpt, '--camera-id', '7', '--no-show', '--out',
             tmp_path / 'x.mp4', check=False)
    assert bad.returncode == 1 and 'cannot open camera 7' in bad.stderr


def test_publish_model_and_mmcv_pickled_meta(trained, shapes_data, tmp_path):
    """A published checkpoint loads with init_detector; a checkpoint whose meta
    pickles an mmcv class (mmcv not installed) gives the same detections as its
    plain twin, and nothing in its meta runs."""
    import pickle
    import sys as _sys
    import types

    from mmdet.apis import inference_detector, init_detector
    from mmdet.apis.test import results_equal
    ckpt = trained['work'] / 'epoch_2.pth'
    out = py('tools/model_converters/publish_model.py', ckpt, tmp_path / 'vfnet_shapes.pth')
    published = [p for p in tmp_path.iterdir() if p.name.startswith('vfnet_shapes-')]
    assert len(published) == 1 and re.fullmatch(r'vfnet_shapes-[0-9a-f]{8}\.pth', published[0].name), out.stdout
    slim = torch.load(published[0], weights_only=False)
    assert 'optimizer' not in slim and 'rng' not in slim['meta'] and slim['meta']['CLASSES']
    img = osp.join(shapes_data, 'val', 'val_00001.jpg')
    plain = inference_detector(init_detector(str(trained['cfg']), str(published[0])), img)

    fake = types.ModuleType('mmcv')
    fake_cfg = types.ModuleType('mmcv.utils.config')

    class Config:
        def __init__(self, d):
            self._cfg_dict = d

    class Payload:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "pwned"}',))
    Config.__module__ = Payload.__module__ = 'mmcv.utils.config'
    Config.__qualname__, Payload.__qualname__ = 'Config', 'Payload'
    fake_cfg.Config, fake_cfg.Payload = Config, Payload
    _sys.modules.update({'mmcv': fake, 'mmcv.utils': types.ModuleType('mmcv.utils'), 'mmcv.utils.config': fake_cfg})
    try:
        slim['meta']['config'] = Config({'model': {}})
        slim['meta']['payload'] = Payload()
        torch.save(slim, tmp_path / 'mmcv_meta.pth', pickle_protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for k in ('mmcv', 'mmcv.utils', 'mmcv.utils.config'):
            _sys.modules.pop(k)
    with pytest.warns(UserWarning, match='mmcv.utils.config.Config'):
        model = init_detector(str(trained['cfg']), str(tmp_path / 'mmcv_meta.pth'))
    assert results_equal([inference_detector(model, img)], [plain])
    assert not (tmp_path / 'pwned').exists()


def test_get_flops_prints_params_and_gflops():
    out = py('tools/analysis_tools/get_flops.py', osp.join(ROOT, 'configs/vfnet/vfnet_r50_fpn_1x_coco.py'),
             '--shape', 1280, 800)
    assert 'Input shape: (3, 1280, 800)' in out.stdout
    assert 'Flops: 217.22 GFLOPs' in out.stdout and 'Params: 32.89 M' in out.stdout
