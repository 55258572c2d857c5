"""tools/analysis_tools/gpu_check.py: its CPU dry run runs every part's code; the pieces it relies on."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT, run_env


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    work = tmp_path_factory.mktemp('gpu_check')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools', 'gpu_check.py'), '--dry-run',
                          '--work-dir', str(work), '--out', str(work / 'report.json'), '--md-out',
                          str(work / 'table.md')], env=run_env(), capture_output=True, text=True, timeout=900)
    return out, work


def test_dry_run_passes_every_part(dry_run):
    out, work = dry_run
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads((work / 'report.json').read_text())
    rows = report['rows']
    assert report['dry_run'] and report['environment']['torch'] == torch.__version__
    assert {r['part'] for r in rows} == {'pytest', 'training', 'inference', 'distributed', 'onnx'}
    assert all(r['status'] in ('ok', 'skipped') for r in rows), [r for r in rows if r['status'] != 'ok']
    train = {r['mode']: r for r in rows if r['part'] == 'training'}
    assert set(train) == {'fp32', 'fp16', 'bf16'}
    assert all(len(r['losses']) == 2 and r['seconds_per_iter'] > 0 for r in train.values())
    fps = [r for r in rows if r['part'] == 'inference']
    assert {(r['batch'], r['mode']) for r in fps} == {(1, 'fp32'), (2, 'fp32'), (1, 'fp16'), (2, 'fp16')}
    assert all(r['fps'] > 0 and r['seed_fps'] == 19.4 for r in fps)
    dist = [r for r in rows if r['part'] == 'distributed']
    assert [r['item'] for r in dist] == ['dist_train.sh', 'dist_test.sh'] and 'bbox_mAP' in dist[1]['result']
    assert osp.isfile(work / 'dist' / 'latest.pth')
    table = (work / 'table.md').read_text()
    assert '| part | item | result | status |' in table and table.count('\n| ') == len(rows) + 1


def test_a_failed_row_makes_the_exit_code_1(tmp_path):
    """An unknown inference row is refused before anything runs; a model that fails is a FAIL row."""
    from mmdet.utils import gpu_check
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools', 'gpu_check.py'), '--dry-run',
                          '--models', 'R-5O'], env=run_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and 'R-5O' in out.stderr
    rows = gpu_check.inference_part('cpu', [('broken', 'no_such_config.py', 1.0, (64, 64))], (1,), ('fp32',), 0,
                                    True)
    assert rows[0]['status'] == 'FAIL' and 'no_such_config.py' in rows[0]['result']


def test_precision_modes_restore_the_tf32_flags():
    from mmdet.utils.gpu_check import precision
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    with precision('tf32', 'cpu'):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    with precision('bf16', 'cpu'):
        assert torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    assert not torch.is_autocast_enabled('cpu')


def test_dist_params_of_2x_configs():
    """2.x's dist_params=dict(backend='nccl') reaches init_dist on a GPU machine and falls back to gloo
    without CUDA; unknown keys and backends are named."""
    from mmdet.utils import dist_kwargs
    expected = 'nccl' if torch.cuda.is_available() else 'gloo'
    assert dist_kwargs(dict(backend='nccl')) == dict(backend=expected)
    assert dist_kwargs(dict(backend='gloo', port=29511)) == dict(backend='gloo', port=29511)
    assert dist_kwargs(None) == {}
    with pytest.raises(ValueError, match='bakend'):
        dist_kwargs(dict(bakend='nccl'))
    with pytest.raises(ValueError, match="'ncl'"):
        dist_kwargs(dict(backend='ncl'))
