"""Engine options reached only through configs: iteration-based runner, val workflow, fp16, NaN stop."""

from tests.conftest import write_user_config
from tests.test_tools.test_end_to_end import py


def test_iter_based_runner_and_val_workflow(tmp_path, shapes_data):
    extra = '''
runner = dict(_delete_=True, type='IterBasedRunner', max_iters=6)
checkpoint_config = dict(interval=3)
evaluation = dict(interval=6, metric='bbox')
workflow = [('train', 3), ('val', 1)]
'''
    cfg = write_user_config(tmp_path / 'it.py', shapes_data, extra=extra)
    out = py('tools/train.py', cfg, '--work-dir', tmp_path / 'w')
    assert (tmp_path / 'w' / 'iter_3.pth').is_file() and (tmp_path / 'w' / 'iter_6.pth').is_file()
    assert 'bbox_mAP' in out.stdout + out.stderr


def test_fp16_config_trains(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'fp16.py', shapes_data, epochs=1, extra="fp16 = dict(loss_scale=512.)\n")
    py('tools/train.py', cfg, '--work-dir', tmp_path / 'w', '--no-validate')
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()


def test_nan_loss_stops_naming_the_loss(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'nan.py', shapes_data, epochs=1, extra="optimizer = dict(lr=1e30)\n")
    out = py('tools/train.py', cfg, '--work-dir', tmp_path / 'w', '--no-validate', check=False)
    last = out.stderr.strip().splitlines()[-1]
    assert out.returncode != 0 and 'non-finite loss' in last and 'iteration' in last


def test_nonfinite_steps_can_be_skipped_under_amp(tmp_path, shapes_data):
    extra = "fp16 = dict(loss_scale='dynamic')\noptimizer_config = dict(skip_nonfinite=True)\noptimizer = dict(lr=1e30)\n"
    cfg = write_user_config(tmp_path / 'skip.py', shapes_data, epochs=1, extra=extra)
    out = py('tools/train.py', cfg, '--work-dir', tmp_path / 'w', '--no-validate')
    assert 'step skipped' in out.stdout + out.stderr and (tmp_path / 'w' / 'epoch_1.pth').is_file()


def test_one_cycle_lr_and_momentum_with_auto_scale_lr(tmp_path, shapes_data):
    """2.x's momentum_config and later 2.x's auto_scale_lr / --auto-scale-lr through tools/train.py."""
    extra = '''
lr_config = dict(_delete_=True, policy='OneCycle', max_lr=0.01, pct_start=0.5)
momentum_config = dict(policy='OneCycle', base_momentum=0.85, max_momentum=0.95)
auto_scale_lr = dict(enable=False, base_batch_size=4)
log_config = dict(interval=1)
'''
    cfg = write_user_config(tmp_path / 'onecycle.py', shapes_data, epochs=1, extra=extra)
    out = py('tools/train.py', cfg, '--work-dir', tmp_path / 'w', '--no-validate', '--auto-scale-lr')
    text = out.stdout + out.stderr
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()
    # --auto-scale-lr turned auto_scale_lr on: the user config's optimizer.lr 0.005 x (1 process x 2 images) / 4
    assert 'LR has been automatically scaled from 0.005 to 0.0025' in text
    import json
    logs = [json.loads(line) for p in (tmp_path / 'w').glob('*.log.json') for line in open(p) if '"mode"' in line]
    lrs = [r['lr'] for r in logs if r.get('mode') == 'train']
    # OneCycle (its own max_lr, as in mmcv): up to max_lr at half the run, then down to ~0
    assert len(lrs) == 4 and lrs[1] == max(lrs) == 0.01 and lrs[0] < lrs[1] and lrs[-1] < 1e-4
