"""WandbLoggerHook and MlflowLoggerHook, for real and offline: tools/train.py on the shapes data logs to a
wandb offline run and an MLflow file store, and we read both back."""
import glob
import json
import os
import struct
import subprocess
import sys

import pytest

from mmdet.runner.hooks.trackers import MlflowLoggerHook, WandbLoggerHook, flatten_config
from tests.conftest import ROOT, run_env, write_user_config

wandb = pytest.importorskip('wandb')
mlflow = pytest.importorskip('mlflow')

ITERS_PER_EPOCH = 4  # 8 train images, 2 per batch
EPOCHS = 2
TRACKERS = f'''
custom_imports = dict(imports=['mmdet.runner.hooks.trackers'])
evaluation = dict(interval=1, metric='bbox')
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[
    dict(type='TextLoggerHook'),
    dict(type='WandbLoggerHook', init_kwargs=dict(project='vfnet-ci', name='shapes')),
    dict(type='MlflowLoggerHook', exp_name='vfnet-ci', tags=dict(owner='ci'), params=dict(note='tiny')),
])
'''


def wandb_records(run_file):
    """The protobuf records of an offline run's ``run-<id>.wandb`` (a LevelDB-log file: 32 KiB blocks of
    chunks with a 7-byte header, checksum, length, type FULL=1 / FIRST=2 / MIDDLE=3 / LAST=4)."""
    from wandb.proto import wandb_internal_pb2 as pb
    with open(run_file, 'rb') as f:
        data = f.read()
    assert data[:4] == b':W&B', f'{run_file} is not a wandb run file'
    pos, block, chunks, records = 7, 32768, b'', []
    while pos + 7 <= len(data):
        left = block - pos % block
        _crc, n, kind = struct.unpack('<IHB', data[pos:pos + 7])
        if left < 7 or (n == 0 and kind == 0):  # block padding
            pos += left
            continue
        chunks += data[pos + 7:pos + 7 + n]
        pos += 7 + n
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(chunks)
            records.append(record)
            chunks = b''
    return records


@pytest.fixture(scope='module')
def tracked_run(tmp_path_factory, shapes_data):
    root = tmp_path_factory.mktemp('trackers')
    cfg = write_user_config(root / 'tracked.py', shapes_data, epochs=EPOCHS, extra=TRACKERS)
    env = run_env()
    env.update(WANDB_MODE='offline', WANDB_DIR=str(root), WANDB_DATA_DIR=str(root / 'wandb_data'),
               WANDB_CACHE_DIR=str(root / 'wandb_cache'), WANDB_CONFIG_DIR=str(root / 'wandb_config'),
               WANDB_SILENT='true', MLFLOW_TRACKING_URI=f'file:{root / "mlruns"}',
               MLFLOW_ALLOW_FILE_STORE='true')  # mlflow>=3.7 wants a database store unless told
    out = subprocess.run([sys.executable, os.path.join(ROOT, 'tools/train.py'), cfg, '--work-dir',
                          str(root / 'work'), '--seed', '0'], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return root


def test_wandb_offline_run_has_losses_map_config_and_checkpoint(tracked_run):
    runs = glob.glob(str(tracked_run / 'wandb' / 'offline-run-*' / 'run-*.wandb'))
    assert len(runs) == 1, runs
    records = wandb_records(runs[0])
    rows = [{(i.key or '/'.join(i.nested_key)): json.loads(i.value_json) for i in r.history.item}
            for r in records if r.WhichOneof('record_type') == 'history']
    n = ITERS_PER_EPOCH * EPOCHS
    # one row per iteration, step = global iteration; losses, lr, time in every one
    assert [r['_step'] for r in rows] == list(range(1, n + 2))
    for r in rows[:n]:
        assert r['train/loss'] > 0 and r['train/loss_cls'] > 0 and r['train/time'] > 0
        assert 'train/loss_bbox' in r and 'train/loss_bbox_rf' in r and r['learning_rate'] > 0
    # the evaluations share a row with the next iteration (step 5), the last one its own (step 9)
    evaluated = [r['_step'] for r in rows if 'val/bbox_mAP' in r]
    assert evaluated == [ITERS_PER_EPOCH + 1, n + 1]
    assert all(0 <= r['val/bbox_mAP'] <= 1 and 'val/bbox_mAP_50' in r for r in rows if 'val/bbox_mAP' in r)
    assert 'train/loss' in rows[ITERS_PER_EPOCH]  # the shared row kept the iteration's values too
    # the training config became the run config
    run = next(r.run for r in records if r.WhichOneof('record_type') == 'run')
    config = {i.key: json.loads(i.value_json) for i in run.config.update}
    assert config['model']['backbone']['depth'] == 18
    assert config['runner']['max_epochs'] == EPOCHS
    assert run.project == 'vfnet-ci' and run.display_name == 'shapes'
    # the final checkpoint (and the logs, the dumped config) as the model artifact
    artifact = next(r.artifact for r in records if r.WhichOneof('record_type') == 'artifact')
    files = {c.path: c.size for c in artifact.manifest.contents}
    assert artifact.type == 'model' and f'epoch_{EPOCHS}.pth' in files
    assert files[f'epoch_{EPOCHS}.pth'] == os.path.getsize(tracked_run / 'work' / f'epoch_{EPOCHS}.pth')
    assert 'tracked.py' in files and any(f.endswith('.log.json') for f in files)


def test_mlflow_file_store_has_metrics_params_and_checkpoint(tracked_run, monkeypatch):
    monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')
    client = mlflow.tracking.MlflowClient(tracking_uri=f'file:{tracked_run / "mlruns"}')
    exp = client.get_experiment_by_name('vfnet-ci')
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == 'FINISHED'
    run_id = runs[0].info.run_id
    n = ITERS_PER_EPOCH * EPOCHS
    loss = client.get_metric_history(run_id, 'train/loss')
    assert sorted(m.step for m in loss) == list(range(1, n + 1)) and all(m.value > 0 for m in loss)
    assert len(client.get_metric_history(run_id, 'train/time')) == n
    lrs = sorted(client.get_metric_history(run_id, 'learning_rate'), key=lambda m: (m.step, m.timestamp))
    assert lrs[0].value < lrs[-1].value  # the linear warm-up over the first 2 iterations
    mAP = client.get_metric_history(run_id, 'val/bbox_mAP')
    assert sorted(m.step for m in mAP) == [ITERS_PER_EPOCH + 1, n + 1]
    assert all(0 <= m.value <= 1 for m in mAP)
    params, tags = runs[0].data.params, runs[0].data.tags
    assert params['model.backbone.depth'] == '18' and params['runner.max_epochs'] == str(EPOCHS)
    assert params['optimizer.lr'] == '0.005' and params['note'] == 'tiny' and tags['owner'] == 'ci'
    arts = [a.path for a in client.list_artifacts(run_id, 'models')]
    assert arts == [f'models/epoch_{EPOCHS}.pth']
    local = client.download_artifacts(run_id, arts[0], str(tracked_run / 'dl'))
    assert os.path.getsize(local) == os.path.getsize(tracked_run / 'work' / f'epoch_{EPOCHS}.pth')


@pytest.mark.parametrize('hook, package', [(WandbLoggerHook, 'pip install wandb'),
                                           (MlflowLoggerHook, 'pip install mlflow-skinny')])
def test_missing_tracker_package_names_pip_package(monkeypatch, hook, package):
    monkeypatch.setitem(sys.modules, 'wandb' if hook is WandbLoggerHook else 'mlflow', None)

    class Runner:
        rank = 0
    with pytest.raises(ImportError, match=package):
        hook().before_run(Runner())


def test_bad_arguments_and_flatten():
    with pytest.raises(TypeError, match='init_kwargs'):
        WandbLoggerHook(init_kwargs='my-project')
    with pytest.raises(TypeError, match='tags'):
        MlflowLoggerHook(tags=['a'])
    assert flatten_config({'a': {'b': {'c': 1}, 'd': [1, 2]}, 'e': {}}) == {'a.b.c': 1, 'a.d': [1, 2], 'e': {}}
