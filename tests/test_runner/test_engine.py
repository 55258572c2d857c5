import math
import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from mmdet.runner import build_optimizer
from mmdet.runner.checkpoint import link_latest, load_checkpoint, resolve_pretrained, save_checkpoint
from mmdet.runner.hooks import CheckpointHook, build_lr_hook


def lr_at(cfg, epoch, it, iters_per_epoch=10, max_epochs=12, base=0.01):
    hook = build_lr_hook(cfg)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=base)
    runner = SimpleNamespace(optimizer=opt, epoch=epoch, iter=it, max_epochs=max_epochs,
                             max_iters=max_epochs * iters_per_epoch, data_loader=range(iters_per_epoch))
    hook.before_run(runner)
    hook.before_train_epoch(runner)
    hook.before_train_iter(runner)
    return opt.param_groups[0]['lr']


def test_step_with_linear_warmup():
    cfg = dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.1, step=[8, 11])
    assert lr_at(cfg, 0, 0, 1000) == pytest.approx(0.001)
    assert lr_at(cfg, 0, 250, 1000) == pytest.approx(0.01 * (1 - 0.5 * 0.9))
    assert lr_at(cfg, 0, 600, 1000) == pytest.approx(0.01)
    assert lr_at(cfg, 8, 8000, 1000) == pytest.approx(0.001)
    assert lr_at(cfg, 11, 11000, 1000) == pytest.approx(0.0001)


def test_cosine_poly_and_cyclic():
    assert lr_at(dict(policy='CosineAnnealing', min_lr_ratio=0.0), 6, 60) == pytest.approx(0.005)
    assert lr_at(dict(policy='poly', power=1.0), 3, 30) == pytest.approx(0.01 * 0.75)
    swa = dict(policy='cyclic', target_ratio=(1, 0.01), cyclic_times=12, step_ratio_up=0.0)
    # one cosine decay per epoch (10 iters): full lr at each epoch start, halfway at mid-epoch
    assert lr_at(swa, 0, 0) == pytest.approx(0.01)
    assert lr_at(swa, 3, 30) == pytest.approx(0.01)
    assert lr_at(swa, 3, 35) == pytest.approx(0.0001 + 0.5 * (0.01 - 0.0001) * (math.cos(math.pi * 0.5) + 1))
    with pytest.raises(KeyError, match='nope'):
        build_lr_hook(dict(policy='nope'))


def test_paramwise_cfg_groups():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1))
    model[2].weight.requires_grad = False
    opt = build_optimizer(model, dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4,
                                      paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0., norm_decay_mult=0.,
                                                         custom_keys={'2.bias': dict(lr_mult=5.)})))
    by_param = {id(g['params'][0]): g for g in opt.param_groups}
    assert by_param[id(model[0].bias)]['lr'] == pytest.approx(0.02)
    assert by_param[id(model[0].bias)]['weight_decay'] == 0
    assert by_param[id(model[0].weight)]['weight_decay'] == pytest.approx(1e-4)
    assert by_param[id(model[1].weight)]['weight_decay'] == 0 and by_param[id(model[1].weight)]['lr'] == 0.01
    assert by_param[id(model[2].bias)]['lr'] == pytest.approx(0.05)
    with pytest.raises(KeyError, match='bias_lr_mul'):
        build_optimizer(model, dict(type='SGD', lr=0.1, paramwise_cfg=dict(bias_lr_mul=2)))
    with pytest.raises(KeyError, match='SDG'):
        build_optimizer(model, dict(type='SDG', lr=0.1))


def test_checkpoint_atomic_latest_and_max_keep(tmp_path):
    model = nn.Linear(2, 2)
    for e in range(1, 5):
        save_checkpoint(model, str(tmp_path / f'epoch_{e}.pth'), meta=dict(epoch=e))
        link_latest(str(tmp_path), str(tmp_path / f'epoch_{e}.pth'))
    assert not list(tmp_path.glob('*.tmp*'))
    assert osp.realpath(tmp_path / 'latest.pth') == osp.realpath(tmp_path / 'epoch_4.pth')
    hook = CheckpointHook(interval=1, max_keep_ckpts=2)
    saved = []
    runner = SimpleNamespace(rank=0, work_dir=str(tmp_path), meta={},
                             save_checkpoint=lambda *a, **k: saved.append(k['n']))
    hook.before_run(runner)
    hook._save(runner, 5)
    assert sorted(p.name for p in tmp_path.glob('epoch_*.pth')) == ['epoch_3.pth', 'epoch_4.pth']
    other = nn.Linear(2, 2)
    ckpt = load_checkpoint(other, str(tmp_path / 'latest.pth'), strict=True)
    assert ckpt['meta']['epoch'] == 4 and torch.equal(other.weight, model.weight)


def test_pretrained_names_resolve_locally_or_explain(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        resolve_pretrained('torchvision://resnet50')
    assert osp.join(str(tmp_path), 'hub', 'checkpoints') in str(e.value) and 'pretrained=None' in str(e.value)
    os.makedirs(tmp_path / 'hub' / 'checkpoints')
    torch.save(nn.Linear(1, 1).state_dict(), tmp_path / 'hub' / 'checkpoints' / 'resnet50-0676ba61.pth')
    assert resolve_pretrained('torchvision://resnet50').endswith('resnet50-0676ba61.pth')
    # the file mmcv caches for open-mmlab://detectron2/resnet50_caffe (the caffe RetinaNet configs)
    torch.save(nn.Linear(1, 1).state_dict(), tmp_path / 'hub' / 'checkpoints' / 'resnet50_msra-5891d200.pth')
    assert resolve_pretrained('open-mmlab://detectron2/resnet50_caffe').endswith('resnet50_msra-5891d200.pth')


def test_resnet_loads_torchvision_weights_from_cache(tmp_path, monkeypatch):
    import torchvision
    from mmdet.models import build_backbone
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    os.makedirs(tmp_path / 'hub' / 'checkpoints')
    tv = torchvision.models.resnet18()
    torch.save(tv.state_dict(), tmp_path / 'hub' / 'checkpoints' / 'resnet18-f37072fd.pth')
    ours = build_backbone(dict(type='ResNet', depth=18))
    ours.init_weights('torchvision://resnet18')
    assert torch.equal(ours.layer3[1].conv2.weight, tv.layer3[1].conv2.weight)
    x = torch.randn(1, 3, 64, 64)
    tv.eval(), ours.eval()
    feats = ours(x)
    ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
    assert torch.allclose(feats[-1], ref, atol=1e-5)


def test_rng_state_round_trips_and_reads_the_older_per_device_form():
    import random

    import numpy as np

    from mmdet.runner.checkpoint import rng_state, set_rng_state
    state = rng_state()
    drawn = (random.random(), np.random.rand(), torch.rand(2))
    set_rng_state(state)
    assert (random.random(), np.random.rand()) == drawn[:2] and torch.equal(torch.rand(2), drawn[2])
    # checkpoints of earlier versions kept one CUDA state per visible device; more than this machine has
    set_rng_state(dict(state, cuda=[torch.zeros(16, dtype=torch.uint8)] * 9 if not torch.cuda.is_available()
                       else [state['cuda']] * (torch.cuda.device_count() + 8)))
    assert torch.equal(torch.rand(2), drawn[2])


@pytest.mark.parametrize('loss_scale,after_overflow', [(512., 512.), ('dynamic', 256.)])
def test_fixed_loss_scale_stays_and_dynamic_backs_off(loss_scale, after_overflow):
    """2.x's fp16 semantics: ``loss_scale=512.`` is a fixed scale, 'dynamic' halves on overflow; either
    way a step whose gradients overflow is skipped.  (The hook's scaler logic, on CPU's GradScaler.)"""
    from mmdet.runner import AmpState
    from mmdet.runner.hooks.optimizer import OptimizerHook
    amp = AmpState('cpu', loss_scale)
    amp.scaler = torch.amp.GradScaler('cpu', init_scale=512.)  # CPU training itself runs unscaled bfloat16
    w = nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    for factor, moved in ((1e36, False), (1.0, True)):  # scaled gradients overflow, then an ordinary step
        loss = (w * factor).sum()
        runner = SimpleNamespace(outputs=dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=1), amp=amp,
                                 optimizer=opt, model=nn.ModuleList(), epoch=0, inner_iter=0, iter=0)
        before = w.detach().clone()
        OptimizerHook().after_train_iter(runner)
        assert (not torch.equal(w.detach(), before)) == moved
        if not moved:
            assert amp.scaler.get_scale() == after_overflow
    for bad in ('auto', 0, -512.):
        with pytest.raises(ValueError, match='loss_scale'):
            AmpState('cpu', bad)
