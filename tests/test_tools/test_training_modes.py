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
