"""Training hooks on the real runner: EMA (mmcv's and 2.x's), gradient accumulation, empty-cache, early
stopping, and losses on a ('val', 1) workflow step for the dense heads."""
import copy
import json
import logging
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from mmdet.runner.checkpoint import load_checkpoint
from mmdet.runner.hooks.base import HOOKS, Hook
from mmdet.runner.hooks.checkpoint import CheckpointHook
from mmdet.runner.hooks.early_stopping import EarlyStoppingHook
from mmdet.runner.hooks.ema import EMAHook, ExpMomentumEMAHook, LinearMomentumEMAHook
from mmdet.runner.hooks.empty_cache import EmptyCacheHook
from mmdet.runner.hooks.optimizer import GradientCumulativeOptimizerHook, OptimizerHook
from mmdet.runner.runner import AmpState, EpochBasedRunner, IterBasedRunner

LOGGER = logging.getLogger('test_ema_accumulation')


# ------------------------------------------------------------------ a tiny BN-free model
class Pairs(Dataset):
    """``n`` fixed (x, y) regression samples; ``nan_at``: the index whose target is NaN."""

    def __init__(self, n=8, nan_at=None):
        g = torch.Generator().manual_seed(n)
        self.x, self.y = torch.randn(n, 3, generator=g), torch.randn(n, 2, generator=g)
        if nan_at is not None:
            self.y[nan_at] = float('nan')

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(x=self.x[i], y=self.y[i])


class Tiny(nn.Module):
    """Two linear layers; a float buffer (averaged by 2.x's EMA hooks, not by mmcv's) and an integer one
    (never averaged); the losses are batch means, as a detector's."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 8), nn.Linear(8, 2)
        self.register_buffer('seen', torch.zeros(()))
        self.register_buffer('steps', torch.zeros((), dtype=torch.long))

    def train_step(self, data, optimizer=None):
        if self.training:
            self.seen += len(data['x'])
            self.steps += 1
        loss = F.mse_loss(self.fc2(torch.relu(self.fc1(data['x']))).float(), data['y'])
        return dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=len(data['x']))

    val_step = train_step


def tiny(seed=0):
    torch.manual_seed(seed)
    return Tiny()


def make_runner(work_dir, model, epochs, hooks=(), opt_hook=None, amp=None, lr=0.05, checkpoints=True):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    runner = EpochBasedRunner(model, opt, work_dir=str(work_dir), logger=LOGGER, max_epochs=epochs, amp=amp, seed=0)
    runner.register_hook(opt_hook or OptimizerHook())
    if checkpoints:
        runner.register_hook(CheckpointHook(interval=1))
    for h in hooks:
        runner.register_hook(h)
    return runner


def loader(n=8, batch=2, shuffle=True, nan_at=None):
    return DataLoader(Pairs(n, nan_at), batch_size=batch, shuffle=shuffle)


def amp_state(kind):
    """None; CPU bfloat16 autocast; the same with a fixed-scale GradScaler (the CUDA fp16 code path)."""
    if kind is None:
        return None
    amp = AmpState('cpu', 512.)
    if kind == 'scaler':
        amp.scaler = torch.amp.GradScaler('cpu', init_scale=512.)
    return amp


def params(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# -------------------------------------------------------------------------------- EMA
EMA_HOOKS = {
    'mmcv': lambda: EMAHook(momentum=0.9, warm_up=10),
    'mmcv_interval': lambda: EMAHook(momentum=0.7, interval=2, warm_up=2),
    'exp': lambda: ExpMomentumEMAHook(momentum=0.1, total_iter=4),
    'linear': lambda: LinearMomentumEMAHook(momentum=0.6, interval=2, warm_up=3),
}


def expected_momentum(kind, it):
    """The 2.x / mmcv formulas, written out: (momentum, whether iteration ``it`` updates)."""
    if kind == 'mmcv':
        return min(0.9, (1 + it) / (10 + it)), True
    if kind == 'mmcv_interval':
        return min(0.7 ** 2, (1 + it) / (2 + it)), it % 2 == 0
    if kind == 'exp':
        return 0.9 * math.exp(-(1 + it) / 4) + 0.1, True
    return min(0.6 ** 2, (1 + it) / (3 + it)), (it + 1) % 2 == 0


class Recorder(Hook):
    """The weights after every optimizer step (between the OptimizerHook and the EMA hook) and what every
    ``after_train_epoch`` hook sees."""

    def __init__(self):
        self.after_step, self.at_epoch_end = [], []

    def after_train_iter(self, runner):
        self.after_step.append(params(runner.module))

    def after_train_epoch(self, runner):
        self.at_epoch_end.append(params(runner.module))


@pytest.mark.parametrize('kind', sorted(EMA_HOOKS))
def test_ema_follows_the_2x_formulas_and_is_what_evaluation_and_checkpoints_see(tmp_path, kind):
    first, last = Recorder(), Recorder()
    model = tiny()
    init = params(model)
    ema_hook = EMA_HOOKS[kind]()
    runner = make_runner(tmp_path, model, 2, [ema_hook])
    runner.register_hook(first, priority=35)  # between the OptimizerHook (30) and the EMA hook (40)
    runner.register_hook(last, priority='LOWEST')
    runner.run([loader()], [('train', 1)])

    averaged = set(dict(model.named_parameters())) | (set() if kind.startswith('mmcv') else {'seen'})
    ema = {k: v.clone() for k, v in init.items() if k in averaged}
    by_epoch = []
    for it, weights in enumerate(first.after_step):
        m, due = expected_momentum(kind, it)
        if due:
            ema = {k: (1 - m) * v + m * weights[k] for k, v in ema.items()}
        if (it + 1) % 4 == 0:
            by_epoch.append(ema)
    for epoch, (seen_first, seen_last, expected) in enumerate(zip(first.at_epoch_end, last.at_epoch_end, by_epoch)):
        for k, v in expected.items():  # hooks before and after the EMA hook both see (evaluate) the EMA weights
            assert torch.allclose(seen_first[k], v, atol=1e-6) and torch.equal(seen_first[k], seen_last[k]), (epoch, k)
        raw = first.after_step[4 * epoch + 3]
        assert torch.equal(seen_first['steps'], raw['steps'])  # integers: neither averaged nor swapped
        if kind.startswith('mmcv'):
            assert torch.equal(seen_first['seen'], raw['seen'])  # mmcv's hook leaves the buffers alone
    # the epoch's checkpoint is the EMA model, in the plain layout: it loads strictly into a fresh model
    plain = Tiny()
    ckpt = load_checkpoint(plain, str(tmp_path / 'epoch_2.pth'), strict=True)
    for k, v in by_epoch[-1].items():
        assert torch.allclose(plain.state_dict()[k], v, atol=1e-6), k
    # the training weights travel in the hook's state, and the next epoch trained on them
    assert ckpt['hook_states'][type(ema_hook).__name__]['swapped'] is True
    assert_same(ckpt['hook_states'][type(ema_hook).__name__]['shadow'],
                {k: v for k, v in first.after_step[-1].items() if k in averaged})
    plain_run = tiny()
    make_runner(tmp_path / 'no_ema', plain_run, 2).run([loader()], [('train', 1)])
    for k in averaged:  # the average does not disturb training: the same trajectory as without it
        assert torch.equal(ema_hook.shadow[k], plain_run.state_dict()[k]), k


def test_ema_with_the_iter_based_runner_swaps_in_once_at_the_end(tmp_path):
    def run(hooks):
        model = tiny()
        runner = IterBasedRunner(model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                                 work_dir=str(tmp_path), logger=LOGGER, max_iters=10)
        runner.register_hook(OptimizerHook())
        for h in hooks:
            runner.register_hook(*h)
        runner.run([loader()], [('train', 1)])
        return model

    rec, hook = Recorder(), EMA_HOOKS['mmcv']()
    model = run([(hook,), (rec, 35)])
    ema = {k: v for k, v in params(tiny()).items() if k.startswith('fc')}
    for it, weights in enumerate(rec.after_step):  # 10 iterations over 2.5 passes of the loader
        m, _ = expected_momentum('mmcv', it)
        ema = {k: (1 - m) * v + m * weights[k] for k, v in ema.items()}
    for k, v in ema.items():
        assert torch.allclose(model.state_dict()[k], v, atol=1e-6), k
    plain = run([])  # no swap before the end: the same trajectory as without the hook
    for k in ema:
        assert torch.equal(hook.shadow[k], plain.state_dict()[k]), k


@pytest.mark.parametrize('amp', [None, 'bf16'])
@pytest.mark.parametrize('kind', ['mmcv', 'exp', 'linear'])
def test_ema_resume_is_exact(tmp_path, kind, amp):
    """4 epochs in one go == 2 epochs, a resume from epoch_2.pth into a differently initialised model, 2 more."""
    whole = make_runner(tmp_path / 'whole', tiny(), 4, [EMA_HOOKS[kind]()], amp=amp_state(amp))
    whole.run([loader()], [('train', 1)])
    make_runner(tmp_path / 'half', tiny(), 2, [EMA_HOOKS[kind]()], amp=amp_state(amp)).run([loader()], [('train', 1)])
    resumed_hook = EMA_HOOKS[kind]()
    resumed = make_runner(tmp_path / 'half', tiny(seed=123), 4, [resumed_hook], amp=amp_state(amp))
    resumed.resume(str(tmp_path / 'half' / 'epoch_2.pth'))
    resumed.run([loader()], [('train', 1)])

    assert_same(params(whole.module), params(resumed.module))  # the EMA weights, swapped in at the end
    a, b = (torch.load(p / 'epoch_4.pth', weights_only=False) for p in (tmp_path / 'whole', tmp_path / 'half'))
    assert_same(a['state_dict'], b['state_dict'])
    name = type(resumed_hook).__name__
    assert_same(a['hook_states'][name]['shadow'], b['hook_states'][name]['shadow'])


def test_ema_resume_from_reads_a_2x_checkpoint(tmp_path):
    """2.x kept the other copy in ``ema_*`` buffers of the state_dict, written swapped at the epoch's end."""
    ema_weights, train_weights = tiny(1), tiny(2)
    sd = dict(ema_weights.state_dict())
    sd.update({'ema_' + k.replace('.', '_'): v for k, v in train_weights.named_parameters()})
    torch.save(dict(meta=dict(epoch=1, iter=4), state_dict=sd), tmp_path / 'epoch_1.pth')

    class FirstIter(Hook):
        def before_train_iter(self, runner):
            if not hasattr(self, 'weights'):
                self.weights = params(runner.module)

    first, hook = FirstIter(), EMAHook(momentum=0.5, resume_from=str(tmp_path / 'epoch_1.pth'))
    runner = make_runner(tmp_path, tiny(3), 2, [hook, first])
    runner.run([loader()], [('train', 1)])
    assert runner.epoch == 2
    for k, v in train_weights.named_parameters():  # epoch 2 trained on 2.x's training weights
        assert torch.equal(first.weights[k], v.detach()), k


# ----------------------------------------------------------------- gradient accumulation
def train_final(tmp_path, name, batch, opt_hook, n, epochs, amp):
    model = tiny()
    runner = make_runner(tmp_path / name, model, epochs, opt_hook=opt_hook, amp=amp_state(amp), lr=0.1)
    runner.run([loader(n, batch, shuffle=False)], [('train', 1)])
    return params(model), runner


@pytest.mark.parametrize('clip', [None, dict(max_norm=0.5)])
@pytest.mark.parametrize('amp', [None, 'bf16', 'scaler'])
@pytest.mark.parametrize('n, epochs', [(8, 2), (6, 1)])
def test_two_accumulated_batches_of_2_equal_one_batch_of_4(tmp_path, n, epochs, amp, clip):
    """With 6 samples the last group has one batch: its loss is divided by 1, as the batch of 2 it matches.
    (Clipping binds at every step here: it checks the clipping of the summed gradient.)"""
    acc, _ = train_final(tmp_path, 'acc', 2, GradientCumulativeOptimizerHook(cumulative_iters=2, grad_clip=clip),
                         n, epochs, amp)
    big, _ = train_final(tmp_path, 'big', 4, OptimizerHook(grad_clip=clip), n, epochs, amp)
    # bfloat16 rounds each batch's gradient before the sum: close, not equal
    tol = dict(atol=1e-6, rtol=1e-5) if amp is None else dict(atol=2e-3, rtol=2e-2)
    for k in ('fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'):
        assert torch.allclose(acc[k], big[k], **tol), (k, (acc[k] - big[k]).abs().max())
    assert not torch.equal(acc['fc1.weight'], tiny().fc1.weight.detach())
    if amp == 'scaler':  # scaling by a power of two is exact: the scaler path equals the unscaled one
        plain, _ = train_final(tmp_path, 'acc_bf16', 2,
                               GradientCumulativeOptimizerHook(cumulative_iters=2, grad_clip=clip), n, epochs, 'bf16')
        assert_same(acc, plain)


class Crash(Hook):
    priority = 'LOWEST'

    def after_train_epoch(self, runner):
        raise KeyboardInterrupt(f'killed after epoch {runner.epoch + 1}')


def test_accumulation_resumes_inside_a_group(tmp_path):
    """3 iterations per epoch, groups of 2 over 2 epochs: (0, 1), (2, 3), (4, 5).  A run killed after
    epoch 1 left epoch_1.pth mid-group, with the gradients of iteration 2 in the hook's state."""
    whole, _ = train_final(tmp_path, 'whole', 2, GradientCumulativeOptimizerHook(cumulative_iters=2), 6, 2, None)
    killed = make_runner(tmp_path / 'half', tiny(), 2, [Crash()],
                         opt_hook=GradientCumulativeOptimizerHook(cumulative_iters=2), lr=0.1)
    with pytest.raises(KeyboardInterrupt):
        killed.run([loader(6, 2, shuffle=False)], [('train', 1)])
    ckpt = torch.load(tmp_path / 'half' / 'epoch_1.pth', weights_only=False)
    assert ckpt['hook_states']['GradientCumulativeOptimizerHook']['pending'] == 1
    model = tiny(seed=5)
    runner = make_runner(tmp_path / 'half', model, 2, opt_hook=GradientCumulativeOptimizerHook(cumulative_iters=2),
                         lr=0.1)
    runner.resume(str(tmp_path / 'half' / 'epoch_1.pth'))
    runner.run([loader(6, 2, shuffle=False)], [('train', 1)])
    assert_same(whole, params(model))


def test_a_nonfinite_loss_skips_its_group_under_amp(tmp_path):
    hook = GradientCumulativeOptimizerHook(cumulative_iters=2, skip_nonfinite=True)
    steps = []

    class Steps(Hook):
        def after_train_iter(self, runner):
            steps.append(params(runner.module)['fc1.weight'])

    model = tiny()
    init = params(model)['fc1.weight']
    runner = make_runner(tmp_path, model, 1, [Steps()], opt_hook=hook, amp=amp_state('bf16'))
    runner.run([loader(8, 2, shuffle=False, nan_at=2)], [('train', 1)])  # batch 1 (of group 0) has a NaN
    assert torch.equal(steps[1], init) and not torch.equal(steps[3], init)
    with pytest.raises(ValueError, match='cumulative_iters'):
        GradientCumulativeOptimizerHook(cumulative_iters=0)


# ----------------------------------------------------------------------- empty cache
@pytest.mark.parametrize('cuda', [True, False])
def test_empty_cache_hook_stages(tmp_path, monkeypatch, cuda):
    calls = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: calls.append(1))
    hook = EmptyCacheHook(before_epoch=True, after_epoch=True, after_iter=True)
    runner = make_runner(tmp_path, tiny(), 2, [hook], checkpoints=False)  # no checkpoint: it would query CUDA
    runner.run([loader(), loader(4)], [('train', 1), ('val', 1)])
    # 2 epochs x (train: 4 iterations + 2, val: 2 iterations + 2)
    assert len(calls) == (2 * (4 + 2 + 2 + 2) if cuda else 0)


# --------------------------------------------------------------------- early stopping
class Scripted(Hook):
    """Stands for the EvalHook's contract (a new ``runner.eval_results`` dict per evaluation)."""
    priority = 'ABOVE_NORMAL'

    def __init__(self, scores, every=1):
        self.scores, self.every = list(scores), every

    def after_train_epoch(self, runner):
        if (runner.epoch + 1) % self.every == 0:
            score = self.scores.pop(0) if len(self.scores) > 1 else self.scores[0]
            runner.eval_results = {'bbox_mAP': score, 'bbox_mAP_50': 0.0}


class StopSeen(Hook):
    priority = 'LOWEST'
    stopped_at = None

    def after_train_epoch(self, runner):
        if getattr(runner, 'should_stop', False) and self.stopped_at is None:
            self.stopped_at = runner.epoch + 1


def test_early_stopping_on_an_evaluation_metric(tmp_path):
    # best 0.30 at epoch 2; 0.305 is within min_delta; epochs 3 and 4 make patience=2 run out
    seen = StopSeen()
    hook = EarlyStoppingHook('bbox_mAP', min_delta=0.01, patience=2)
    runner = make_runner(tmp_path, tiny(), 10, [Scripted([0.1, 0.3, 0.305, 0.2, 0.9, 0.9]), hook, seen])
    runner.run([loader()], [('train', 1)])
    assert seen.stopped_at == 4 and runner.epoch == 4
    assert (hook.best, hook.best_epoch, hook.wait_count) == (0.3, 2, 2)
    state = torch.load(tmp_path / 'epoch_4.pth', weights_only=False)['hook_states']['EarlyStoppingHook']
    assert state == dict(best=0.3, best_epoch=2, wait_count=2)  # the epoch's checkpoint holds its check


def test_early_stopping_on_the_val_loss_of_the_workflow(tmp_path):
    # lr=0: the val loss never improves after the first val epoch; patience=2 stops after epoch 3
    hook = EarlyStoppingHook('loss', patience=2)
    runner = make_runner(tmp_path, tiny(), 10, [hook], lr=0.0)
    runner.run([loader(), loader(4, shuffle=False)], [('train', 1), ('val', 1)])
    assert runner.epoch == 3 and hook.rule == 'less' and hook.wait_count == 2


def test_early_stopping_arguments():
    with pytest.raises(ValueError, match='rule'):
        EarlyStoppingHook('score')
    with pytest.raises(KeyError, match='rule'):
        EarlyStoppingHook('bbox_mAP', rule='max')
    with pytest.raises(ValueError, match='patience'):
        EarlyStoppingHook('bbox_mAP', patience=0)
    hook = EarlyStoppingHook('bbox_mAP', min_delta=0.1)
    assert hook.rule == 'greater' and hook.improves(0.0)
    hook.best = 0.5
    assert not hook.improves(0.6) and hook.improves(0.61) and not hook.improves(float('nan'))


def test_early_stopping_names_a_missing_metric(tmp_path):
    runner = make_runner(tmp_path, tiny(), 3, [Scripted([0.1, 0.2, 0.3]), EarlyStoppingHook('segm_mAP')])
    with pytest.raises(KeyError, match=r"segm_mAP.*\['bbox_mAP', 'bbox_mAP_50'\]"):
        runner.run([loader()], [('train', 1)])


# ------------------------------------------------------- dense heads' losses in eval mode
HEADS = {
    'vfnet': ('vfnet/vfnet_r50_fpn_1x_coco.py', {}),
    'atss': ('atss/atss_r50_fpn_1x_coco.py', {}),
    'retina': ('retinanet/retinanet_r50_fpn_1x_coco.py', {}),
    'fcos': ('fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py', {}),
    'fcos_normbbox': ('fcos/fcos_center-normbbox-centeronreg-giou_r50_caffe_fpn_gn-head_1x_coco.py', {}),
}


def head_and_inputs(name):
    from mmdet.models import build_head
    from mmdet.utils import Config

    from tests.conftest import ROOT
    cfg = Config.fromfile(f'{ROOT}/configs/{HEADS[name][0]}').model
    head_cfg = copy.deepcopy(cfg.bbox_head)
    head_cfg.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                    train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg)
    head_cfg['norm_cfg'] = dict(type='GN', num_groups=4, requires_grad=True)  # the configs' GN(32), narrower
    torch.manual_seed(0)
    head = build_head(head_cfg)
    strides = [8, 16, 32, 64, 128]
    feats = tuple(torch.randn(2, 16, 128 // s, 160 // s) for s in strides)
    metas = [dict(img_shape=(128, 160, 3), pad_shape=(128, 160, 3), batch_input_shape=(128, 160),
                  scale_factor=torch.ones(4).numpy()) for _ in range(2)]
    gt_bboxes = [torch.tensor([[10., 12., 70., 90.], [80., 20., 150., 60.]]), torch.tensor([[30., 30., 62., 64.]])]
    gt_labels = [torch.tensor([0, 2]), torch.tensor([1])]
    return head, (feats, metas, gt_bboxes, gt_labels)


@pytest.mark.parametrize('name', sorted(HEADS))
def test_dense_heads_give_the_same_losses_in_eval_mode(name):
    """A ('val', 1) workflow step computes the losses under model.eval() and no_grad (BaseDetector.val_step);
    for heads without BatchNorm they must equal the training-mode losses (mmdet #6851 / #10088: 2.x's
    VFNet crashed there)."""
    head, inputs = head_and_inputs(name)
    train = head.forward_train(*inputs)
    head.eval()
    with torch.no_grad():
        val = head.forward_train(*inputs)
    assert train.keys() == val.keys()
    for k in train:
        t, v = (sum(x) if isinstance(x, (list, tuple)) else x for x in (train[k], val[k]))
        assert torch.isfinite(v).all() and torch.allclose(t.detach(), v, rtol=1e-5, atol=1e-6), (name, k, t, v)


@HOOKS.register_module(force=True)
class ValLossProbe(Hook):
    """What each ('val', 1) step computed: (runner.epoch, model.training, log_vars) per iteration."""
    priority = 'LOWEST'

    def __init__(self):
        self.seen = []

    def after_val_iter(self, runner):
        self.seen.append((runner.epoch, runner.model.training, dict(runner.outputs['log_vars'])))


def test_tiny_vfnet_train_and_val_workflow_computes_val_losses(tmp_path, shapes_data):
    """``workflow = [('train', 1), ('val', 1)]`` as tools/train.py runs it, with an EMA hook from the config:
    the val step computes VFNet's losses in eval mode (mmdet #6851 / #10088)."""
    from mmdet.apis.train import train_detector
    from mmdet.datasets import build_dataset
    from mmdet.models import build_detector
    from mmdet.utils import Config

    from tests.conftest import write_user_config
    extra = """
custom_hooks = [dict(type='ExpMomentumEMAHook', momentum=0.01, total_iter=4), dict(type='ValLossProbe')]
workflow = [('train', 1), ('val', 1)]
"""
    cfg = Config.fromfile(write_user_config(tmp_path / 'val_wf.py', shapes_data, epochs=2, extra=extra))
    cfg.work_dir = str(tmp_path / 'w')
    val = copy.deepcopy(cfg.data.val)
    val.pipeline = cfg.data.train.pipeline  # as tools/train.py: the val step needs the annotations
    datasets = [build_dataset(cfg.data.train), build_dataset(val)]
    runner = train_detector(build_detector(cfg.model), datasets, cfg, distributed=False, validate=False,
                            device=torch.device('cpu'))
    probe = next(h for h in runner.hooks if isinstance(h, ValLossProbe))
    assert [(epoch, training) for epoch, training, _ in probe.seen] == [(1, False)] * 2 + [(2, False)] * 2
    for _, _, log_vars in probe.seen:
        assert {'loss_cls', 'loss_bbox', 'loss_bbox_rf', 'loss'} <= set(log_vars)
        assert all(math.isfinite(v) for v in log_vars.values()), log_vars
    ckpt = torch.load(tmp_path / 'w' / 'epoch_2.pth', weights_only=False)
    assert ckpt['hook_states']['ExpMomentumEMAHook']['swapped'] is True


def test_val_workflow_epochs_are_logged_as_val(tmp_path):
    from mmdet.runner.hooks.logger import TextLoggerHook
    runner = make_runner(tmp_path, tiny(), 2, [TextLoggerHook(interval=2)])
    runner.run([loader(), loader(4)], [('train', 1), ('val', 1)])
    records = [json.loads(line) for p in tmp_path.glob('*.log.json') for line in open(p)][1:]
    assert [(r['mode'], r['epoch'], r['iter']) for r in records] == [
        ('train', 1, 2), ('train', 1, 4), ('val', 1, 2), ('train', 2, 2), ('train', 2, 4), ('val', 2, 2)]
    assert all('loss' in r for r in records)
