"""Every tool of MMDetection 2.10 (as in the original VarifocalNet fork) that is in
scope accepts 2.x's command line with 2.x's meaning.

Arguments are parsed in-process: each tool is loaded from its file and its
``parse_args()`` called with ``sys.argv`` set as the shell would set it.  The
VOC converter runs for real (``--out-format coco`` through the CLI, ``pkl``
in-process) on a devkit of hand-written XML files."""
import importlib.util
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

from tests.conftest import ROOT, run_env

_MODULES = {}


def tool(path):
    """The tool at ``tools/<path>`` as a module (loaded once)."""
    if path not in _MODULES:
        name = '_cli2x_' + path.replace('/', '_').replace('.py', '')
        spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[path] = module
    return _MODULES[path]


@pytest.fixture
def parse(monkeypatch):
    """``parse(tool_path, *argv)``: the tool's parse_args() under ``sys.argv = [tool, *argv]``;
    LOCAL_RANK, which train/test set as 2.x does, is restored afterwards."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.delenv('LOCAL_RANK')

    def run(path, *argv):
        module = tool(path)
        monkeypatch.setattr(sys, 'argv', [osp.join('tools', path), *map(str, argv)])
        return module.parse_args()
    return run


def _no_warnings():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter('error')
    return ctx


# -- tools/train.py ---------------------------------------------------------------------------------

def test_train_2x_arguments(parse):
    a = parse('train.py', 'cfg.py', '--work-dir', 'w', '--resume-from', 'r.pth', '--no-validate', '--gpus', 2,
              '--seed', 3, '--deterministic', '--cfg-options', 'optimizer.lr=0.01', 'data.samples_per_gpu=4',
              '--launcher', 'mpi', '--local_rank', 1)
    assert (a.config, a.work_dir, a.resume_from, a.no_validate, a.gpus, a.gpu_ids, a.seed, a.deterministic) == \
        ('cfg.py', 'w', 'r.pth', True, 2, None, 3, True)
    assert a.cfg_options == {'optimizer.lr': 0.01, 'data.samples_per_gpu': 4}
    assert a.launcher == 'mpi' and a.local_rank == 1 and os.environ['LOCAL_RANK'] == '1'
    a = parse('train.py', 'cfg.py', '--gpu-ids', 0, 1)
    assert a.gpu_ids == [0, 1] and a.gpus is None and a.launcher == 'none' and a.local_rank == 0
    assert (a.work_dir, a.resume_from, a.seed, a.cfg_options, a.no_validate) == (None, None, None, None, False)
    for launcher in ('none', 'pytorch', 'slurm', 'mpi'):
        assert parse('train.py', 'cfg.py', '--launcher', launcher).launcher == launcher
    with pytest.raises(SystemExit):  # mutually exclusive, as in 2.x
        parse('train.py', 'cfg.py', '--gpus', 1, '--gpu-ids', 0)


def test_train_deprecated_options(parse):
    with pytest.warns(UserWarning, match='--options is deprecated in favor of --cfg-options'):
        a = parse('train.py', 'cfg.py', '--options', 'optimizer.lr=0.02')
    assert a.cfg_options == {'optimizer.lr': 0.02}
    with pytest.raises(SystemExit):
        parse('train.py', 'cfg.py', '--options', 'a=1', '--cfg-options', 'b=2')


def test_train_gpu_args_select_the_device(parse, monkeypatch):
    import torch
    train = tool('train.py')
    assert train.select_device(parse('train.py', 'cfg.py'), False) == (None, None)
    assert train.select_device(parse('train.py', 'cfg.py', '--gpus', 0), False) == (torch.device('cpu'), [])
    with pytest.warns(UserWarning, match='only apply to non-distributed'):
        assert train.select_device(parse('train.py', 'cfg.py', '--gpus', 2), True) == (None, [0, 1])
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.warns(UserWarning, match='no CUDA device is available, training on the CPU'):
        assert train.select_device(parse('train.py', 'cfg.py', '--gpu-ids', 1), False) == (torch.device('cpu'), [1])


def test_mpi_launcher_environment(monkeypatch):
    from mmdet.utils import dist
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'OMPI_COMM_WORLD_RANK',
                'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_RANK', 'PMI_RANK', 'PMI_SIZE'):
        monkeypatch.setenv(key, '0')
        monkeypatch.delenv(key)
    with pytest.raises(RuntimeError, match='mpirun'):
        dist.init_dist('mpi')
    monkeypatch.setattr(dist.torch.cuda, 'device_count', lambda: 0)
    monkeypatch.setenv('OMPI_COMM_WORLD_RANK', '3')
    monkeypatch.setenv('OMPI_COMM_WORLD_SIZE', '4')
    monkeypatch.setenv('OMPI_COMM_WORLD_LOCAL_RANK', '1')
    dist._mpi_env(port=29511)
    env = os.environ
    assert (env['RANK'], env['WORLD_SIZE'], env['LOCAL_RANK']) == ('3', '4', '0')
    assert (env['MASTER_ADDR'], env['MASTER_PORT']) == ('127.0.0.1', '29511')


# -- tools/test.py ----------------------------------------------------------------------------------

def test_test_2x_arguments(parse):
    a = parse('test.py', 'cfg.py', 'ckpt.pth', '--out', 'r.pkl', '--fuse-conv-bn', '--eval', 'bbox', 'proposal',
              '--show-dir', 'vis', '--show-score-thr', 0.5, '--gpu-collect', '--tmpdir', 'tmp',
              '--cfg-options', 'model.test_cfg.score_thr=0.1', '--eval-options', 'classwise=True',
              '--launcher', 'slurm', '--local_rank', 2)
    assert (a.config, a.checkpoint, a.out, a.fuse_conv_bn, a.eval, a.show, a.show_dir, a.show_score_thr) == \
        ('cfg.py', 'ckpt.pth', 'r.pkl', True, ['bbox', 'proposal'], False, 'vis', 0.5)
    assert (a.gpu_collect, a.tmpdir, a.launcher, a.local_rank, a.format_only) == (True, 'tmp', 'slurm', 2, False)
    assert a.cfg_options == {'model.test_cfg.score_thr': 0.1} and a.eval_options == {'classwise': True}
    a = parse('test.py', 'cfg.py', 'ckpt.pth', '--format-only', '--launcher', 'mpi')
    assert a.format_only and a.show_score_thr == 0.3 and a.launcher == 'mpi' and a.eval_options is None
    for bad in (['--eval', 'bbox', '--format-only'], ['--out', 'r.json'], []):
        with pytest.raises(SystemExit):
            parse('test.py', 'cfg.py', 'ckpt.pth', *bad)


def test_test_options_mean_eval_options_as_in_2x(parse):
    with pytest.warns(UserWarning, match='--options is deprecated in favor of --eval-options'):
        a = parse('test.py', 'cfg.py', 'ckpt.pth', '--eval', 'bbox', '--options', 'classwise=True')
    assert a.eval_options == {'classwise': True} and a.cfg_options is None
    with pytest.raises(SystemExit):
        parse('test.py', 'cfg.py', 'ckpt.pth', '--eval', 'bbox', '--options', 'a=1', '--eval-options', 'b=2')


def test_test_show_warns_without_display(parse):
    with pytest.warns(UserWarning, match='needs a display'):
        assert parse('test.py', 'cfg.py', 'ckpt.pth', '--show', '--eval', 'bbox').show
    with pytest.raises(SystemExit):  # nothing else to do
        parse('test.py', 'cfg.py', 'ckpt.pth', '--show')


def test_test_eval_kwargs_from_config_as_in_2x():
    from mmdet.utils import Config
    cfg = Config(dict(evaluation=dict(interval=1, metric='bbox', save_best='bbox_mAP', rule='greater',
                                      classwise=True, iou_thrs=[0.5])))
    kw = tool('test.py').eval_kwargs(cfg, ['bbox'], {'jsonfile_prefix': 'x'})
    assert kw == dict(metric='bbox', classwise=True, iou_thrs=[0.5], jsonfile_prefix='x')
    assert tool('test.py').eval_kwargs(Config(dict()), ['bbox', 'x'], None) == dict(metric=['bbox', 'x'])
    yolox = Config(dict(evaluation=dict(save_best='auto', interval=10, dynamic_intervals=[(285, 1)], metric='bbox',
                                        greater_keys=['mAP'], out_dir='/tmp/x')))  # 2.28's YOLOX + mmcv keys
    assert tool('test.py').eval_kwargs(yolox, ['bbox'], None) == dict(metric='bbox')


# -- tools/analysis_tools ---------------------------------------------------------------------------

def _json_log(path):
    recs = [dict(mode='train', epoch=e, iter=i, lr=0.01, time=0.1 * i, loss=1.0 / (e + i)) for e in (1, 2)
            for i in (1, 2, 3)] + [dict(mode='val', epoch=e, iter=3, lr=0.01, bbox_mAP=0.1 * e) for e in (1, 2)]
    path.write_text('{"env_info": "x"}\n' + ''.join(json.dumps(r) + '\n' for r in recs))
    return str(path)


def test_analyze_logs_2x_arguments(parse, tmp_path, capsys):
    log = _json_log(tmp_path / 'a.log.json')
    a = parse('analysis_tools/analyze_logs.py', 'plot_curve', log, log)
    assert (a.task, a.json_logs, a.keys, a.title, a.legend, a.backend, a.style, a.out) == \
        ('plot_curve', [log, log], ['bbox_mAP'], None, None, None, 'dark', None)
    argv = ['plot_curve', log, '--keys', 'loss', 'bbox_mAP', '--title', 't', '--legend', 'l1', 'l2',
            '--backend', 'agg', '--style', 'whitegrid', '--out', str(tmp_path / 'c.png')]
    a = parse('analysis_tools/analyze_logs.py', *argv)
    assert (a.keys, a.legend, a.backend, a.style) == (['loss', 'bbox_mAP'], ['l1', 'l2'], 'agg', 'whitegrid')
    tool('analysis_tools/analyze_logs.py').main(argv)
    assert (tmp_path / 'c.png').stat().st_size > 0
    with pytest.raises(SystemExit, match='cannot show'):  # 2.x shows without --out; agg cannot
        tool('analysis_tools/analyze_logs.py').main(['plot_curve', log, '--backend', 'agg'])
    a = parse('analysis_tools/analyze_logs.py', 'cal_train_time', log, '--include-outliers')
    assert (a.task, a.json_logs, a.include_outliers) == ('cal_train_time', [log], True)


def test_analyze_results_2x_arguments(parse):
    a = parse('analysis_tools/analyze_results.py', 'cfg.py', 'r.pkl', 'out')
    assert (a.config, a.prediction_path, a.show_dir, a.show, a.wait_time, a.topk, a.show_score_thr) == \
        ('cfg.py', 'r.pkl', 'out', False, 0, 20, 0)
    with pytest.warns(UserWarning, match='needs a display'):
        a = parse('analysis_tools/analyze_results.py', 'cfg.py', 'r.pkl', 'out', '--show', '--wait-time', 1.5,
                  '--topk', 5, '--show-score-thr', 0.3, '--cfg-options', 'data.test.samples_per_gpu=1')
    assert (a.show, a.wait_time, a.topk, a.show_score_thr) == (True, 1.5, 5, 0.3)
    assert a.cfg_options == {'data.test.samples_per_gpu': 1}


def test_benchmark_and_get_flops_2x_arguments(parse):
    a = parse('analysis_tools/benchmark.py', 'cfg.py', 'ckpt.pth', '--log-interval', 10, '--fuse-conv-bn')
    assert (a.config, a.checkpoint, a.log_interval, a.fuse_conv_bn) == ('cfg.py', 'ckpt.pth', 10, True)
    assert parse('analysis_tools/benchmark.py', 'cfg.py', 'ckpt.pth').log_interval == 50
    assert parse('analysis_tools/get_flops.py', 'cfg.py').shape == [1280, 800]
    assert parse('analysis_tools/get_flops.py', 'cfg.py', '--shape', 640).shape == [640]
    assert parse('analysis_tools/get_flops.py', 'cfg.py', '--shape', 800, 1333).shape == [800, 1333]


def test_coco_error_analysis_2x_arguments(parse):
    a = parse('analysis_tools/coco_error_analysis.py', 'res.bbox.json', 'out')
    assert (a.result, a.out_dir, a.ann, a.types) == \
        ('res.bbox.json', 'out', 'data/coco/annotations/instances_val2017.json', ['bbox'])
    assert parse('analysis_tools/coco_error_analysis.py', 'r.json', 'o', '--ann', 'a.json').ann == 'a.json'
    with pytest.warns(UserWarning, match='segm'):
        assert parse('analysis_tools/coco_error_analysis.py', 'r', 'o', '--types', 'bbox', 'segm').types == ['bbox']
    with pytest.raises(SystemExit):
        parse('analysis_tools/coco_error_analysis.py', 'r', 'o', '--types', 'segm')


def test_eval_metric_2x_arguments(parse):
    a = parse('analysis_tools/eval_metric.py', 'cfg.py', 'r.pkl', '--format-only', '--cfg-options', 'a.b=1',
              '--eval-options', 'jsonfile_prefix=res')
    assert (a.config, a.pkl_results, a.format_only, a.eval) == ('cfg.py', 'r.pkl', True, None)
    assert a.cfg_options == {'a.b': 1} and a.eval_options == {'jsonfile_prefix': 'res'}
    assert parse('analysis_tools/eval_metric.py', 'cfg.py', 'r.pkl', '--eval', 'bbox').eval == ['bbox']
    for bad in ([], ['--eval', 'bbox', '--format-only']):
        with pytest.raises(SystemExit):
            parse('analysis_tools/eval_metric.py', 'cfg.py', 'r.pkl', *bad)


# -- tools/deployment/pytorch2onnx.py ---------------------------------------------------------------

def test_pytorch2onnx_2x_arguments(parse):
    p2o = 'deployment/pytorch2onnx.py'
    a = parse(p2o, 'cfg.py', 'ckpt.pth')
    assert (a.config, a.checkpoint, a.input_img, a.show, a.output_file, a.opset, a.dataset, a.verify,
            a.simplify, a.shape) == ('cfg.py', 'ckpt.pth', None, False, 'tmp.onnx', 19, 'coco', False, False,
                                     [800, 1216])
    assert a.mean == [123.675, 116.28, 103.53] and a.std == [58.395, 57.12, 57.375]
    assert not (a.mean_given or a.std_given) and a.test_img == osp.join(ROOT, 'demo', 'demo.jpg')
    with pytest.warns(UserWarning, match='--opset-version 11'):
        a = parse(p2o, 'cfg.py', 'ckpt.pth', '--input-img', 'in.jpg', '--show', '--output-file', 'o.onnx',
                  '--opset-version', 11, '--dataset', 'voc', '--verify', '--simplify', '--shape', 640,
                  '--mean', 0, 0, 0, '--std', 1, 1, 1)
    assert (a.input_img, a.show, a.output_file, a.opset, a.dataset, a.verify, a.simplify, a.shape) == \
        ('in.jpg', True, 'o.onnx', 19, 'voc', True, True, [640, 640])
    assert a.test_img == 'in.jpg' and a.mean == [0, 0, 0] and a.std == [1, 1, 1] and a.mean_given
    a = parse(p2o, 'cfg.py', 'ckpt.pth', '--input-img', 'in.jpg', '--test-img', 't.jpg', '--shape', 320, 480)
    assert a.test_img == 't.jpg' and a.shape == [320, 480]
    for bad in (['--shape', 1, 2, 3], ['--mean', 1, 2]):
        with pytest.raises(SystemExit):
            parse(p2o, 'cfg.py', 'ckpt.pth', *bad)
    ctx = _no_warnings()
    try:
        assert parse(p2o, 'cfg.py', 'ckpt.pth', '--opset-version', 19).opset == 19
    finally:
        ctx.__exit__(None, None, None)


# -- tools/misc, tools/model_converters -------------------------------------------------------------

def test_browse_dataset_2x_arguments(parse):
    with pytest.warns(UserWarning, match='--output-dir'):
        a = parse('misc/browse_dataset.py', 'cfg.py')
    assert (a.config, a.skip_type, a.output_dir, a.not_show, a.show_interval) == \
        ('cfg.py', ['DefaultFormatBundle', 'Normalize', 'Collect'], None, False, 2)
    a = parse('misc/browse_dataset.py', 'cfg.py', '--skip-type', 'Normalize', '--output-dir', 'd', '--not-show',
              '--show-interval', 0.5)
    assert (a.skip_type, a.output_dir, a.not_show, a.show_interval) == (['Normalize'], 'd', True, 0.5)


def test_print_config_and_publish_model_2x_arguments(parse):
    a = parse('misc/print_config.py', 'cfg.py', '--options', 'model.pretrained=None', 'a=[1,2]')
    assert a.config == 'cfg.py' and a.cfg_options == {'model.pretrained': None, 'a': [1, 2]}
    a = parse('model_converters/publish_model.py', 'in.pth', 'out.pth')
    assert (a.in_file, a.out_file) == ('in.pth', 'out.pth')


# -- tools/dataset_converters/pascal_voc.py ---------------------------------------------------------

CLASSES = ('cat', 'dog')
_XML = ('<annotation><filename>{id}.jpg</filename><size><width>64</width><height>48</height><depth>3</depth>'
        '</size>{objects}</annotation>')
_OBJ = ('<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{box[0]}</xmin>'
        '<ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>')


def _voc_devkit(root):
    """VOC2007 (trainval: 2 images, test: 1) and VOC2012 (trainval: 1 image); XML only."""
    layout = {'2007': {'trainval': ['000001', '000002'], 'test': ['000003']}, '2012': {'trainval': ['2012_000001']}}
    for year, splits in layout.items():
        base = root / f'VOC{year}'
        (base / 'Annotations').mkdir(parents=True)
        (base / 'ImageSets' / 'Main').mkdir(parents=True)
        for split, ids in splits.items():
            (base / 'ImageSets' / 'Main' / f'{split}.txt').write_text(''.join(f'{i}\n' for i in ids))
            for k, img_id in enumerate(ids):
                objects = _OBJ.format(name='cat', difficult=0, box=(1 + k, 2, 30, 40)) + \
                    _OBJ.format(name='dog', difficult=1, box=(10, 5, 60, 45))
                (base / 'Annotations' / f'{img_id}.xml').write_text(_XML.format(id=img_id, objects=objects))
    return str(root)


def test_pascal_voc_2x_arguments(parse):
    a = parse('dataset_converters/pascal_voc.py', 'data/VOCdevkit', '-o', 'out', '--out-format', 'coco')
    assert (a.devkit_path, a.out_dir, a.out_format) == ('data/VOCdevkit', 'out', 'coco')
    assert parse('dataset_converters/pascal_voc.py', 'd', '--out-dir', 'o', '--out-format', 'pkl').out_format == 'pkl'
    assert parse('dataset_converters/pascal_voc.py', 'd').out_dir is None
    with pytest.raises(SystemExit):
        parse('dataset_converters/pascal_voc.py', 'd', '--out-format', 'xml')


def test_pascal_voc_converts_to_coco_from_the_command_line(tmp_path):
    devkit = _voc_devkit(tmp_path / 'VOCdevkit')
    out = tmp_path / 'out'
    res = subprocess.run([sys.executable, osp.join(ROOT, 'tools/dataset_converters/pascal_voc.py'), devkit,
                          '-o', str(out), '--out-format', 'coco', '--classes', ','.join(CLASSES)],
                         capture_output=True, text=True, env=run_env(), timeout=120)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(out)) == sorted(['voc07_test.json', 'voc07_trainval.json', 'voc0712_trainval.json',
                                              'voc12_trainval.json'])
    coco = json.load(open(out / 'voc07_trainval.json'))
    assert [c['name'] for c in coco['categories']] == list(CLASSES)
    assert len(coco['images']) == 2 and coco['images'][0]['file_name'] == 'JPEGImages/000001.jpg'
    assert sorted((a['category_id'], a['iscrowd'], a['bbox'][0]) for a in coco['annotations']) == \
        [(1, 0, 1), (1, 0, 2), (2, 1, 10), (2, 1, 10)]
    merged = json.load(open(out / 'voc0712_trainval.json'))
    assert [im['file_name'] for im in merged['images']] == \
        ['VOC2007/JPEGImages/000001.jpg', 'VOC2007/JPEGImages/000002.jpg', 'VOC2012/JPEGImages/2012_000001.jpg']
    assert len({a['id'] for a in merged['annotations']}) == 6


def test_pascal_voc_pkl_is_2x_middle_format_read_by_custom_dataset(tmp_path, capsys):
    from mmdet.datasets import CustomDataset
    devkit = _voc_devkit(tmp_path / 'VOCdevkit')
    out = tmp_path / 'out'
    tool('dataset_converters/pascal_voc.py').main([devkit, '-o', str(out), '--out-format', 'pkl',
                                                   '--classes', ','.join(CLASSES)])
    assert sorted(os.listdir(out)) == sorted(['voc07_test.pkl', 'voc07_trainval.pkl', 'voc0712_trainval.pkl',
                                              'voc12_trainval.pkl'])
    with open(out / 'voc0712_trainval.pkl', 'rb') as f:
        infos = pickle.load(f)
    assert [i['filename'] for i in infos] == \
        ['VOC2007/JPEGImages/000001.jpg', 'VOC2007/JPEGImages/000002.jpg', 'VOC2012/JPEGImages/2012_000001.jpg']
    assert (infos[0]['width'], infos[0]['height']) == (64, 48)
    ds = CustomDataset(ann_file=str(out / 'voc07_trainval.pkl'), pipeline=[], classes=CLASSES,
                       img_prefix=devkit + '/', test_mode=True)
    ann = ds.get_ann_info(1)
    np.testing.assert_array_equal(ann['bboxes'], [[2, 2, 30, 40]])
    np.testing.assert_array_equal(ann['labels'], [0])
    np.testing.assert_array_equal(ann['bboxes_ignore'], [[10, 5, 60, 45]])
    np.testing.assert_array_equal(ann['labels_ignore'], [1])


def test_eval_metric_format_only_on_converted_voc(tmp_path, capsys):
    """eval_metric.py's 2.x --format-only writes the result json of saved results."""
    devkit = _voc_devkit(tmp_path / 'VOCdevkit')
    tool('dataset_converters/pascal_voc.py').main([devkit, '-o', str(tmp_path), '--classes', ','.join(CLASSES)])
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"data = dict(test=dict(type='CocoDataset', classes={CLASSES!r}, pipeline=[], "
                   f"ann_file={str(tmp_path / 'voc07_trainval.json')!r}, img_prefix={devkit + '/VOC2007/'!r}))\n")
    results = [[np.array([[1, 2, 30, 40, 0.9]], np.float32), np.zeros((0, 5), np.float32)] for _ in range(2)]
    with open(tmp_path / 'r.pkl', 'wb') as f:
        pickle.dump(results, f)
    prefix = tmp_path / 'res'
    tool('analysis_tools/eval_metric.py').main([str(cfg), str(tmp_path / 'r.pkl'), '--format-only',
                                                '--eval-options', f'jsonfile_prefix={prefix}'])
    dets = json.load(open(f'{prefix}.bbox.json'))
    assert len(dets) == 2 and dets[0]['category_id'] == 1 and dets[0]['bbox'] == pytest.approx([1, 2, 29, 38])
