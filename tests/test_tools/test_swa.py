import os.path as osp

import torch

from tests.conftest import write_user_config
from tests.test_tools.test_end_to_end import bbox_map, py

SWA = '''
swa_training = True
swa_runner = dict(type='EpochBasedRunner', max_epochs=2)
swa_lr_config = dict(policy='cyclic', target_ratio=(1, 0.01), cyclic_times=2, step_ratio_up=0.0)
evaluation = dict(interval=1, metric='bbox', save_best='bbox_mAP')
'''


def test_swa_stage_end_to_end(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'swa.py', shapes_data, epochs=1, extra=SWA)
    work = tmp_path / 'w'
    out = py('tools/train.py', cfg, '--work-dir', work, '--seed', '0')
    log = out.stdout + out.stderr
    assert (work / 'best_bbox_mAP.pth').is_file()
    for e in (1, 2):
        assert (work / f'swa_epoch_{e}.pth').is_file() and (work / f'swa_model_{e}.pth').is_file()
    assert 'swa_bbox_mAP' in log
    # the running mean after two epochs is the mean of the two epochs' weights
    a = torch.load(work / 'swa_epoch_1.pth', weights_only=False)['state_dict']
    b = torch.load(work / 'swa_epoch_2.pth', weights_only=False)['state_dict']
    m = torch.load(work / 'swa_model_2.pth', weights_only=False)['state_dict']
    k = 'bbox_head.vfnet_cls.weight'
    assert torch.allclose(m[k], (a[k] + b[k]) / 2, atol=1e-6)
    # the offline tool gives the same average, end epoch included
    py('tools/model_converters/get_swa_model.py', work, '--start', 1, '--end', 2, '--out', tmp_path / 'avg.pth')
    avg = torch.load(tmp_path / 'avg.pth', weights_only=False)['state_dict']
    assert torch.allclose(avg[k], m[k], atol=1e-6)
    # the averaged model evaluates with the normal test tool
    res = py('tools/test.py', cfg, work / 'swa_model_2.pth', '--eval', 'bbox')
    assert bbox_map(res.stdout) >= 0


def test_swa_without_validation_starts_from_latest(tmp_path, shapes_data):
    cfg = write_user_config(tmp_path / 'swa.py', shapes_data, epochs=1, extra=SWA)
    work = tmp_path / 'w'
    out = py('tools/train.py', cfg, '--work-dir', work, '--no-validate')
    assert 'starting SWA from' in out.stdout + out.stderr
    assert (work / 'swa_model_2.pth').is_file() and osp.isfile(work / 'epoch_1.pth')


def test_only_swa_training_and_bn_recompute(tmp_path, shapes_data):
    # a first run provides the starting model
    first = write_user_config(tmp_path / 'plain.py', shapes_data, epochs=1)
    py('tools/train.py', first, '--work-dir', tmp_path / 'a', '--no-validate', '--seed', '0')
    extra = SWA + f"only_swa_training = True\nswa_load_from = {str(tmp_path / 'a' / 'epoch_1.pth')!r}\n"
    cfg = write_user_config(tmp_path / 'only.py', shapes_data, epochs=1, extra=extra)
    py('tools/train.py', cfg, '--work-dir', tmp_path / 'b', '--no-validate', '--seed', '0')
    work = tmp_path / 'b'
    assert not (work / 'epoch_1.pth').exists()  # no main stage
    assert (work / 'swa_epoch_2.pth').is_file() and (work / 'swa_model_2.pth').is_file()
    # the user config trains BN statistics (norm_eval=False): they are recomputed after averaging
    out = py('tools/model_converters/get_swa_model.py', work, '--start', 1, '--end', 2, '--out',
             tmp_path / 'bn.pth', '--config', cfg, '--bn-batches', 2)
    assert 'recomputed the statistics of' in out.stdout
    plain = torch.load(work / 'swa_model_2.pth', weights_only=False)['state_dict']
    bn = torch.load(tmp_path / 'bn.pth', weights_only=False)['state_dict']
    k = 'backbone.layer1.0.bn1.running_mean'
    assert not torch.allclose(plain[k], bn[k])
    assert torch.allclose(plain['bbox_head.vfnet_cls.weight'], bn['bbox_head.vfnet_cls.weight'], atol=1e-6)
