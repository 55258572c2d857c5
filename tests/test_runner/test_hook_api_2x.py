"""mmcv 1.x's hook API as 2.x code uses it: priorities, the Hook helpers and stages, the runner attributes hooks
read, ``fp16.loss_scale`` dicts and every ``checkpoint_config`` key -- on a toy nn.Linear model, a few steps."""
import logging
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from mmdet.runner import AmpState, EpochBasedRunner, IterBasedRunner, OptimizerHook, register_config_hooks
from mmdet.runner.checkpoint import load_state_dict_file
from mmdet.runner.hooks import HOOKS, CheckpointHook, Hook
from mmdet.runner.hooks.base import Priority, get_priority
from mmdet.runner.hooks.checkpoint import sync_buffers
from tests.conftest import ROOT, run_env

LOGGER = logging.getLogger('test_hook_api_2x')


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.bn = nn.BatchNorm1d(1)

    def train_step(self, data, optimizer=None):
        loss = self.bn(self.linear(data['x'])).pow(2).mean()
        return dict(loss=loss, log_vars=dict(loss=float(loss.detach())), num_samples=len(data['x']))

    def val_step(self, data, optimizer=None):
        return self.train_step(data, optimizer)


def toy_loader(n=4, batch=2):
    g = torch.Generator().manual_seed(0)
    return DataLoader([dict(x=torch.randn(2, generator=g), i=i) for i in range(n)], batch_size=batch)


def make_runner(tmp_path, cls=EpochBasedRunner, optimizer=None, **kw):
    model = ToyModel()
    opt = optimizer(model) if optimizer else torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    kw.setdefault('max_iters' if cls is IterBasedRunner else 'max_epochs', 3)
    runner = cls(model, opt, work_dir=str(tmp_path / 'work_dirs' / 'toy_cfg'), logger=LOGGER, **kw)
    runner.register_hook(OptimizerHook())
    return runner


def run(runner, workflow=(('train', 1),)):
    runner.run([toy_loader() for _ in workflow], list(workflow))


# ------------------------------------------------------------------ 1. priorities
@pytest.mark.parametrize('given, value', [
    ('low', 70), ('LOW', 70), ('Very_Low', 90), ('above_normal', 40), ('below_NORMAL', 60), ('highest', 0),
    ('lowest', 100), (Priority.HIGH, 30), (0, 0), (100, 100), (55, 55)])
def test_get_priority_accepts_what_mmcv_accepts(given, value):
    assert get_priority(given) == value


@pytest.mark.parametrize('bad', [101, -1, 1000])
def test_get_priority_rejects_ints_outside_0_100(bad):
    with pytest.raises(ValueError, match=f'between 0 and 100, got {bad}'):
        get_priority(bad)


def test_an_unknown_priority_name_is_named_with_the_valid_ones():
    with pytest.raises(KeyError) as err:  # mmcv raises KeyError (Priority[name]) ...
        get_priority('loww')
    assert isinstance(err.value, ValueError)  # ... and it is a ValueError too
    msg = str(err.value)
    assert "'loww'" in msg and 'VERY_LOW (90)' in msg and 'ABOVE_NORMAL (40)' in msg and '0..100' in msg
    with pytest.raises(TypeError, match='50.0'):
        get_priority(50.0)


def test_hooks_registered_with_lower_case_priorities_run_in_order(tmp_path):
    order = []

    class Named(Hook):
        def __init__(self, name):
            self.name = name

        def before_run(self, runner):
            order.append(self.name)

    runner = make_runner(tmp_path)
    runner.register_hook(Named('low'), priority='low')
    runner.register_hook(Named('very_high'), priority='very_high')
    runner.register_hook(Named('45'), priority=45)
    runner.register_hook(Named('normal'))
    run(runner)
    assert order == ['very_high', '45', 'normal', 'low']


# ------------------------------------------------------------------ 2. the Hook API
def test_the_stages_are_mmcvs():
    assert Hook.stages == ('before_run', 'before_train_epoch', 'before_train_iter', 'after_train_iter',
                           'after_train_epoch', 'before_val_epoch', 'before_val_iter', 'after_val_iter',
                           'after_val_epoch', 'after_run')
    assert Hook().get_triggered_stages() == []


def test_get_triggered_stages_maps_the_generic_methods_as_mmcv():
    class Generic(Hook):
        def before_epoch(self, runner):
            pass

        def after_iter(self, runner):
            pass

    class Specific(Hook):
        def after_run(self, runner):
            pass

        def after_train_iter(self, runner):
            pass

    class Sub(Specific):  # inherited overrides count
        def before_val_epoch(self, runner):
            pass

    assert Generic().get_triggered_stages() == ['before_train_epoch', 'after_train_iter', 'before_val_epoch',
                                                'after_val_iter']
    assert Specific().get_triggered_stages() == ['after_train_iter', 'after_run']
    assert Sub().get_triggered_stages() == ['after_train_iter', 'before_val_epoch', 'after_run']
    assert CheckpointHook().get_triggered_stages() == ['before_run', 'after_train_iter', 'after_train_epoch']


class Probe(Hook):
    """Records the Hook helpers' answers where mmcv's hooks ask them."""

    def __init__(self):
        self.iters, self.epochs = [], []

    def after_train_iter(self, runner):
        self.iters.append((runner.iter, self.every_n_iters(runner, 2), self.every_n_inner_iters(runner, 2),
                           self.end_of_epoch(runner), self.is_last_iter(runner)))

    def after_train_epoch(self, runner):
        self.epochs.append((runner.epoch, self.every_n_epochs(runner, 2), self.is_last_epoch(runner)))


def test_hook_helpers_in_a_real_epoch_run(tmp_path):
    runner = make_runner(tmp_path, max_epochs=3)
    probe = Probe()
    runner.register_hook(probe)
    toy = toy_loader(n=6)  # 3 iterations an epoch
    runner.run([toy], [('train', 1)])
    assert probe.iters == [(0, False, False, False, False), (1, True, True, False, False),
                           (2, False, False, True, False), (3, True, False, False, False),
                           (4, False, True, False, False), (5, True, False, True, False),
                           (6, False, False, False, False), (7, True, True, False, False),
                           (8, False, False, True, True)]
    assert probe.epochs == [(0, False, False), (1, True, False), (2, False, True)]
    assert not Hook.every_n_epochs(runner, 0) and not Hook.every_n_iters(runner, -1)  # n <= 0: never


def test_is_last_iter_in_an_iter_run(tmp_path):
    runner = make_runner(tmp_path, cls=IterBasedRunner, max_iters=5)
    probe = Probe()
    runner.register_hook(probe)
    run(runner)
    assert [it[0] for it in probe.iters] == [0, 1, 2, 3, 4]
    assert [it[4] for it in probe.iters] == [False, False, False, False, True]


# ------------------------------------------------------------------ 3. runner attributes
class BatchSeen(Hook):
    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner):
        self.seen.append(('before_train', runner.data_batch['i'].tolist()))

    def after_train_iter(self, runner):
        self.seen.append(('after_train', runner.data_batch['i'].tolist()))

    def before_val_iter(self, runner):
        self.seen.append(('before_val', runner.data_batch['i'].tolist()))

    def after_train_epoch(self, runner):
        self.seen.append(('after_train_epoch', runner.data_batch))


def test_data_batch_is_the_current_batch_during_an_iteration(tmp_path):
    runner = make_runner(tmp_path, max_epochs=1)
    assert runner.data_batch is None
    hook = BatchSeen()
    runner.register_hook(hook)
    run(runner, workflow=(('train', 1), ('val', 1)))
    assert hook.seen == [('before_train', [0, 1]), ('after_train', [0, 1]), ('before_train', [2, 3]),
                         ('after_train', [2, 3]), ('after_train_epoch', None),
                         ('before_val', [0, 1]), ('before_val', [2, 3])]
    assert runner.data_batch is None


def test_data_batch_in_an_iter_run(tmp_path):
    runner = make_runner(tmp_path, cls=IterBasedRunner, max_iters=3)
    hook = BatchSeen()
    runner.register_hook(hook)
    run(runner)
    assert [s for s in hook.seen if s[0] == 'after_train'] == [('after_train', [0, 1]), ('after_train', [2, 3]),
                                                                ('after_train', [0, 1])]
    assert runner.data_batch is None


def test_current_momentum_and_lr_as_mmcv(tmp_path):
    def two_groups(model):
        return torch.optim.SGD([dict(params=[model.linear.weight], momentum=0.8),
                                dict(params=[model.linear.bias])], lr=0.1, momentum=0.9)

    runner = make_runner(tmp_path, optimizer=two_groups)
    assert runner.current_momentum() == [0.8, 0.9]
    assert runner.current_lr() == [0.1, 0.1]
    adam = make_runner(tmp_path, optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.7, 0.99)))
    assert adam.current_momentum() == [0.7]
    plain = make_runner(tmp_path, optimizer=lambda m: torch.optim.Adagrad(m.parameters(), lr=0.1))
    assert plain.current_momentum() == [0]  # neither momentum nor betas
    model = ToyModel()
    multi = EpochBasedRunner(model, dict(gen=torch.optim.SGD(model.linear.parameters(), lr=0.1, momentum=0.5),
                                         disc=torch.optim.Adam(model.bn.parameters(), lr=0.2, betas=(0.6, 0.9))),
                             work_dir=str(tmp_path / 'multi'), logger=LOGGER, max_epochs=1)
    assert multi.current_momentum() == {'gen': [0.5], 'disc': [0.6]}
    assert multi.current_lr() == {'gen': [0.1], 'disc': [0.2]}


def test_current_momentum_follows_the_momentum_hook(tmp_path):
    seen = []

    class Reader(Hook):
        def before_train_iter(self, runner):
            seen.append(round(runner.current_momentum()[0], 6))

    runner = make_runner(tmp_path, max_epochs=2)
    register_config_hooks(runner, lr_config=None, momentum_config=dict(policy='step', step=[1], gamma=0.5))
    runner.register_hook(Reader(), priority='LOWEST')
    run(runner)
    assert seen == [0.9, 0.9, 0.45, 0.45]


def test_model_name_is_the_modules_class(tmp_path):
    from mmdet.parallel import MMDataParallel
    assert make_runner(tmp_path).model_name == 'ToyModel'
    wrapped = EpochBasedRunner(MMDataParallel(ToyModel()), None, work_dir=str(tmp_path / 'w'), logger=LOGGER)
    assert wrapped.model_name == 'ToyModel'


@HOOKS.register_module()
class _HookApiCfgHook(Hook):
    def __init__(self, tag):
        self.tag = tag

    def after_train_iter(self, runner):
        pass


def test_register_hook_from_cfg(tmp_path):
    runner = make_runner(tmp_path)
    runner.register_hook_from_cfg(dict(type='_HookApiCfgHook', tag='a', priority='very_low'))
    runner.register_hook_from_cfg(dict(type='_HookApiCfgHook', tag='b', priority=5))
    runner.register_hook_from_cfg(dict(type='CheckpointHook', interval=1))  # no priority: the class's (NORMAL)
    hooks = {(type(h).__name__, getattr(h, 'tag', None)): h.priority for h in runner.hooks}
    assert hooks[('_HookApiCfgHook', 'a')] == 90 and hooks[('_HookApiCfgHook', 'b')] == 5
    assert hooks[('CheckpointHook', None)] == 50
    assert [getattr(h, 'tag', None) for h in runner.hooks if isinstance(h, _HookApiCfgHook)] == ['b', 'a']
    with pytest.raises(ValueError, match='between 0 and 100'):
        runner.register_hook_from_cfg(dict(type='_HookApiCfgHook', tag='c', priority=101))


def test_get_hook_info_lists_each_stage_with_priorities_and_is_logged(tmp_path, caplog):
    runner = make_runner(tmp_path, max_epochs=1)
    runner.register_hook_from_cfg(dict(type='_HookApiCfgHook', tag='a', priority=45))
    runner.register_hook(CheckpointHook(interval=1))
    info = runner.get_hook_info()
    stages = [line[:-1] for line in info.splitlines() if line.endswith(':')]
    assert stages == [s for s in Hook.stages if s in stages]  # mmcv's order
    block = info.split('after_train_iter:\n')[1].split(' -------------------- ')[0]
    lines = block.strip('\n').splitlines()
    assert lines[0].startswith('(HIGH        ) OptimizerHook')
    assert any(line.startswith('(45          ) _HookApiCfgHook') for line in lines)
    assert any(line.startswith('(NORMAL      ) CheckpointHook') for line in lines)
    assert 'after_val_epoch' not in stages  # nothing here acts there (IterTimerHook: before_* only, as mmcv)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        run(runner)
    assert any('Hooks will be executed in the following order:\n' + info == r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ 4. fp16 loss_scale dicts
@pytest.mark.parametrize('loss_scale, fixed, kwargs', [
    ('dynamic', None, {}),
    (512., 512., dict(init_scale=512.)),
    (512, 512., dict(init_scale=512.)),
    (dict(init_scale=512), None, dict(init_scale=512.)),  # the 2.28 PVT / Swin configs
    (dict(init_scale=256., growth_factor=4., backoff_factor=0.5, growth_interval=10), None,
     dict(init_scale=256., growth_factor=4., backoff_factor=0.5, growth_interval=10)),
    (dict(init_scale=2.**10, mode='dynamic', scale_factor=4., scale_window=100), None,  # mmcv LossScaler
     dict(init_scale=1024., growth_factor=4., backoff_factor=0.25, growth_interval=100)),
    (dict(init_scale=128., mode='static'), 128., dict(init_scale=128.)),
    (dict(mode='static'), 2.**16, dict(init_scale=2.**16)),
    (dict(enabled=False), None, dict(enabled=False)),
])
def test_fp16_loss_scale_values(loss_scale, fixed, kwargs):
    amp = AmpState('cpu', loss_scale)
    assert amp.fixed_scale == fixed and amp.scaler_kwargs == kwargs
    assert amp.scaler is None and amp.dtype == torch.bfloat16  # CPU: bf16 autocast, no scaler


@pytest.mark.parametrize('bad, match', [
    (dict(init_scale=512, loss_scale=3), r"unknown keys \['loss_scale'\]"),
    (dict(init_scale=-1), 'init_scale must be a positive number'),
    (dict(scale_factor=2., growth_factor=2.), 'not both'),
    (dict(scale_window=10, growth_interval=10), 'not both'),
    (dict(scale_factor=0.5), 'scale_factor must be a number > 1'),
    (dict(scale_window=1.5), 'scale_window must be a positive integer'),
    (dict(mode='auto'), "mode must be 'dynamic' or 'static'"),
    ('static', "'dynamic', a positive number or a dict"),
    (-3, "'dynamic', a positive number or a dict"),
    (True, "'dynamic', a positive number or a dict"),
])
def test_fp16_bad_loss_scale_is_named(bad, match):
    with pytest.raises(ValueError, match=match):
        AmpState('cpu', bad)


def test_fp16_dict_from_a_config_trains(tmp_path):
    from mmdet.apis.train import _amp_state
    amp = _amp_state(dict(fp16=dict(loss_scale=dict(init_scale=512))), 'cpu')
    assert amp.scaler_kwargs == dict(init_scale=512.)
    runner = make_runner(tmp_path, max_epochs=1, amp=amp)
    before = runner.model.linear.weight.detach().clone()
    run(runner)
    assert not torch.equal(before, runner.model.linear.weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='the GradScaler exists on CUDA only')
def test_fp16_dict_builds_the_cuda_grad_scaler():
    amp = AmpState('cuda', dict(init_scale=2.**10, scale_factor=4., scale_window=100))
    s = amp.scaler
    assert (s.get_scale(), s.get_growth_factor(), s.get_backoff_factor(), s.get_growth_interval()) == \
        (1024., 4., 0.25, 100)


# ------------------------------------------------------------------ 5. checkpoint_config
def ckpt_runner(tmp_path, cls=EpochBasedRunner, **hook_kw):
    runner = make_runner(tmp_path, cls=cls, **({'max_iters': 2} if cls is IterBasedRunner else {'max_epochs': 2}))
    hook_kw.setdefault('by_epoch', cls is EpochBasedRunner)
    runner.register_hook(CheckpointHook(interval=1, **hook_kw))
    return runner


def test_create_symlink_false_writes_no_latest(tmp_path):
    runner = ckpt_runner(tmp_path, create_symlink=False)
    run(runner)
    assert sorted(os.listdir(runner.work_dir)) == ['epoch_1.pth', 'epoch_2.pth']
    runner = ckpt_runner(tmp_path / 'iter', cls=IterBasedRunner, create_symlink=False)
    run(runner)
    assert sorted(os.listdir(runner.work_dir)) == ['iter_1.pth', 'iter_2.pth']


def test_create_symlink_default_points_latest_at_the_newest(tmp_path):
    runner = ckpt_runner(tmp_path)
    run(runner)
    latest = osp.join(runner.work_dir, 'latest.pth')
    assert osp.exists(latest)
    assert load_state_dict_file(latest)['meta']['epoch'] == 2


def test_meta_is_merged_into_the_checkpoint_meta(tmp_path):
    runner = ckpt_runner(tmp_path, meta=dict(note='swin', CLASSES=('a', 'b'), epoch=99))
    runner.meta['exp_name'] = 'toy_cfg.py'
    run(runner)
    meta = load_state_dict_file(osp.join(runner.work_dir, 'epoch_2.pth'))['meta']
    assert meta['note'] == 'swin' and meta['CLASSES'] == ('a', 'b') and meta['exp_name'] == 'toy_cfg.py'
    assert meta['epoch'] == 2  # the training state wins, as mmcv (resume reads it)
    with pytest.raises(TypeError, match='meta must be a dict'):
        CheckpointHook(meta=['x'])


def test_file_client_args_disk_only(tmp_path):
    runner = ckpt_runner(tmp_path, file_client_args=dict(backend='disk'))
    run(runner)
    assert osp.exists(osp.join(runner.work_dir, 'epoch_2.pth'))
    for bad in (dict(backend='petrel'), dict(backend='disk', path_mapping={}), dict(prefix='s3')):
        with pytest.raises(ValueError, match='only the local disk backend'):
            CheckpointHook(file_client_args=bad)
    with pytest.raises(ValueError, match='remote file backend'):
        CheckpointHook(out_dir='s3://bucket/ckpts')


def test_out_dir_gets_the_work_dirs_name_appended_as_mmcv(tmp_path):
    out = tmp_path / 'ckpts'
    runner = ckpt_runner(tmp_path, out_dir=str(out))
    run(runner)
    saved = out / 'toy_cfg'  # basename of work_dirs/toy_cfg
    assert sorted(os.listdir(saved)) == ['epoch_1.pth', 'epoch_2.pth', 'latest.pth']
    assert runner.meta['hook_msgs']['last_ckpt'] == str(saved / 'epoch_2.pth')
    assert not any(f.endswith('.pth') for f in os.listdir(runner.work_dir))
    # out_dir naming the work dir itself: no nesting
    runner = ckpt_runner(tmp_path / 'same', out_dir=str(tmp_path / 'same' / 'work_dirs' / 'toy_cfg/'))
    run(runner)
    assert 'epoch_2.pth' in os.listdir(runner.work_dir)


def test_sync_buffer_without_distributed_is_a_no_op(tmp_path):
    runner = ckpt_runner(tmp_path, sync_buffer=True)
    run(runner)
    saved = load_state_dict_file(osp.join(runner.work_dir, 'epoch_2.pth'))['state_dict']
    assert torch.equal(saved['bn.running_mean'], runner.model.bn.running_mean)
    before = [b.clone() for b in runner.model.buffers()]
    sync_buffers(runner.model)
    assert all(torch.equal(a, b) for a, b in zip(before, runner.model.buffers()))


def test_every_mmcv_checkpoint_config_key_through_register_config_hooks(tmp_path):
    runner = make_runner(tmp_path, max_epochs=2)
    register_config_hooks(runner, lr_config=None, checkpoint_config=dict(
        interval=1, max_keep_ckpts=1, save_last=True, save_optimizer=False, sync_buffer=True,
        file_client_args=dict(backend='disk'), create_symlink=False, meta=dict(note='x'),
        filename_tmpl='ckpt_{}.pth', out_dir=None))
    run(runner)
    assert sorted(os.listdir(runner.work_dir)) == ['ckpt_2.pth']
    ckpt = load_state_dict_file(osp.join(runner.work_dir, 'ckpt_2.pth'))
    assert ckpt['meta']['note'] == 'x' and 'optimizer' not in ckpt
    with pytest.raises(TypeError, match=r"unknown keys \['sync_buffers'\] \(known: .*sync_buffer"):
        CheckpointHook(sync_buffers=True)


SYNC_BUFFERS = textwrap.dedent('''
    import os, sys, torch
    sys.path.insert(0, os.environ['ROOT'])
    from mmdet.runner.hooks.checkpoint import sync_buffers
    from mmdet.utils import close_dist, init_dist
    init_dist('pytorch', timeout_s=30)
    rank = int(os.environ['RANK'])
    bn = torch.nn.BatchNorm1d(2)
    bn.running_mean.fill_(float(rank))          # the ranks' statistics differ
    bn.running_var.fill_(1.0 + 2 * rank)
    bn.num_batches_tracked.fill_(5 + rank)       # an integer buffer: rank 0's
    sync_buffers(torch.nn.Sequential(bn))
    os.write(1, f"rank {rank} {bn.running_mean.tolist()} {bn.running_var.tolist()} "
                f"{int(bn.num_batches_tracked)}\\n".encode())
    close_dist()
''')


def test_sync_buffers_averages_over_two_ranks(tmp_path):
    path = tmp_path / 'script.py'
    path.write_text(SYNC_BUFFERS)
    out = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
                          '29651', str(path)], env=dict(run_env(), ROOT=ROOT), capture_output=True, text=True,
                         timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = sorted(line for line in out.stdout.splitlines() if line.startswith('rank'))
    assert lines == ['rank 0 [0.5, 0.5] [2.0, 2.0] 5', 'rank 1 [0.5, 0.5] [2.0, 2.0] 5'], out.stderr[-3000:]
