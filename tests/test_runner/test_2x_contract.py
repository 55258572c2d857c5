"""The 2.x runner contract: train_step/val_step, EvalHook's timing, arguments and state, hooks' state in checkpoints."""
import logging

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from mmdet.core.evaluation import DistEvalHook, EvalHook
from mmdet.parallel import DataContainer, MMDataParallel, collate
from mmdet.runner import EpochBasedRunner, IterBasedRunner, OptimizerHook, register_config_hooks
from mmdet.runner.hooks import Hook, SWAHook


class Toy(Dataset):
    """Four 2.x samples; ``evaluate`` returns a scripted score per call and records when it was called."""

    def __init__(self, scores=None):
        self.scores, self.calls = list(scores or []), []

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(img=DataContainer(torch.full((1, 2, 2), float(i)), stack=True),
                    img_metas=DataContainer(dict(index=i), cpu_only=True))

    def evaluate(self, results, logger=None, **kwargs):
        self.calls.append(len(results))
        return {'mAP': self.scores.pop(0) if self.scores else 0.0}


class ToyDetector(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.steps = []

    def forward(self, img, img_metas, return_loss=True, rescale=False):
        if return_loss:
            return dict(loss_toy=(self.w * img).mean())
        return [[] for _ in img_metas]

    def train_step(self, data, optimizer):
        self.steps.append((type(data['img']), type(data['img_metas']), optimizer))
        loss = self(**data)['loss_toy']
        return dict(loss=loss, log_vars=dict(loss=float(loss.detach())), num_samples=len(data['img_metas']))

    def val_step(self, data, optimizer=None):
        return self.train_step(data, optimizer)


def loader(dataset, batch=2):
    return DataLoader(dataset, batch_size=batch, collate_fn=lambda b: collate(b, samples_per_gpu=len(b)))


def runner_for(tmp_path, model=None, epochs=5, cls=EpochBasedRunner, **kw):
    model = model or ToyDetector()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    runner = cls(MMDataParallel(model), opt, work_dir=str(tmp_path), logger=logging.getLogger('test_2x_contract'),
                 max_epochs=epochs, **kw)
    runner.register_hook(OptimizerHook())
    return runner


class EpochsSeen(Hook):
    """Records runner.epoch whenever the EvalHook evaluated (the dataset's evaluate was called)."""

    def __init__(self, dataset):
        self.dataset, self.n, self.evaluated = dataset, 0, []

    def _check(self, runner, where):
        if len(self.dataset.calls) > self.n:
            self.n = len(self.dataset.calls)
            self.evaluated.append((where, runner.epoch + 1 if where == 'after' else runner.epoch))

    def before_train_epoch(self, runner):
        self._check(runner, 'before')

    def after_train_epoch(self, runner):
        self._check(runner, 'after')


@pytest.mark.parametrize('start, interval, expected', [
    (None, 1, [1, 2, 3, 4, 5]),
    (None, 2, [2, 4]),
    (1, 2, [1, 3, 5]),  # 2.x: start, start + interval, ...
    (3, 1, [3, 4, 5]),
    (2, 3, [2, 5]),
])
def test_eval_hook_epochs_as_2x(tmp_path, start, interval, expected):
    ds = Toy()
    runner = runner_for(tmp_path)
    runner.register_hook(EvalHook(loader(ds), start=start, interval=interval))
    seen = EpochsSeen(ds)
    runner.register_hook(seen, priority='LOWEST')
    runner.run([loader(Toy())], [('train', 1)])
    assert [e for _, e in seen.evaluated] == expected
    assert all(where == 'after' for where, _ in seen.evaluated)
    assert ds.calls == [4] * len(expected)  # every image evaluated each time


def test_eval_before_training_when_the_run_starts_at_or_past_start(tmp_path):
    ds = Toy()
    runner = runner_for(tmp_path, epochs=2)
    runner.register_hook(EvalHook(loader(ds), start=0))
    seen = EpochsSeen(ds)
    runner.register_hook(seen, priority='LOWEST')
    runner.run([loader(Toy())], [('train', 1)])
    # the initial weights are evaluated first (2.x: start <= epoch at the first epoch), then every epoch
    assert seen.evaluated == [('before', 0), ('after', 1), ('after', 2)]


def test_eval_hook_by_iteration(tmp_path):
    ds = Toy()
    runner = runner_for(tmp_path, cls=IterBasedRunner, max_iters=6)
    runner.register_hook(EvalHook(loader(ds), interval=2, by_epoch=False, start=1))
    iters = []

    class Seen(Hook):
        def after_train_iter(self, r):
            if len(ds.calls) > len(iters):
                iters.append(r.iter + 1)
    runner.register_hook(Seen(), priority='LOWEST')
    runner.run([loader(Toy())], [('train', 1)])
    assert iters == [1, 3, 5]


def test_eval_hook_rejects_what_2x_rejects():
    with pytest.raises(TypeError, match='DataLoader'):
        EvalHook([1, 2, 3])
    with pytest.raises(ValueError, match='interval'):
        EvalHook(loader(Toy()), interval=0)
    with pytest.raises(KeyError, match='rule'):
        EvalHook(loader(Toy()), save_best='mAP', rule='bigger')
    with pytest.raises(ValueError, match="cannot infer the rule for save_best='f1_score'"):
        EvalHook(loader(Toy()), save_best='f1_score')
    assert EvalHook(loader(Toy()), save_best='f1_score', rule='greater').rule == 'greater'
    assert EvalHook(loader(Toy()), save_best='val_loss').rule == 'less'
    with pytest.warns(UserWarning, match='smaller than 0'):
        assert EvalHook(loader(Toy()), start=-2).start == 0
    with pytest.raises(TypeError, match='save_best'):
        EvalHook(loader(Toy()), save_best=1)
    # DistEvalHook keeps 2.x's signature (tmpdir, gpu_collect before save_best)
    hook = DistEvalHook(loader(Toy()), 1, 2, True, None, False, 'mAP')
    assert hook.distributed and hook.start == 1 and hook.interval == 2 and hook.save_best == 'mAP'


def test_rule_less_keeps_the_lowest(tmp_path):
    ds = Toy(scores=[0.5, 0.3, 0.4])
    hook = EvalHook(loader(ds), save_best='mAP', rule='less')
    runner = runner_for(tmp_path, epochs=3)
    runner.register_hook(hook)
    runner.run([loader(Toy())], [('train', 1)])
    assert hook.best_score == 0.3 and hook.best_epoch == 2


def test_best_score_survives_resume_through_the_checkpoint(tmp_path):
    # epochs 1-2 score 0.2 and 0.6; stop; resume from epoch_2.pth; epoch 3 scores 0.4: best stays epoch 2's
    ds = Toy(scores=[0.2, 0.6])
    runner = runner_for(tmp_path, epochs=2)
    register_config_hooks(runner, dict(policy='fixed'), None, dict(interval=1), None, None, True, False)
    runner.register_hook(EvalHook(loader(ds), save_best='auto'))
    runner.run([loader(Toy())], [('train', 1)])
    ckpt = torch.load(tmp_path / 'epoch_2.pth', weights_only=False)
    # the epoch's checkpoint already holds that epoch's evaluation (the hook runs before the CheckpointHook)
    assert ckpt['hook_states']['EvalHook']['best_score'] == 0.6
    assert ckpt['hook_states']['EvalHook']['key_indicator'] == 'mAP'
    best_before = (tmp_path / 'best_mAP.pth').read_bytes()

    ds2 = Toy(scores=[0.4])
    resumed = runner_for(tmp_path, epochs=3)
    register_config_hooks(resumed, dict(policy='fixed'), None, dict(interval=1), None, None, True, False)
    hook = EvalHook(loader(ds2), save_best='auto')
    resumed.register_hook(hook)
    resumed.resume(str(tmp_path / 'epoch_2.pth'))
    assert hook.best_score == 0.6 and hook.best_epoch == 2
    resumed.run([loader(Toy())], [('train', 1)])
    assert ds2.calls == [4] and hook.best_score == 0.6
    assert (tmp_path / 'best_mAP.pth').read_bytes() == best_before


def test_a_2x_checkpoint_hook_msgs_best_score_is_honoured(tmp_path):
    # a 2.x checkpoint has no hook_states; its meta['hook_msgs'] reaches runner.meta as mmcv's resume does
    model = ToyDetector()
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1, iter=2, hook_msgs=dict(
        best_score=0.9, last_ckpt='x.pth'))), tmp_path / 'old.pth')
    ds = Toy(scores=[0.5])
    runner = runner_for(tmp_path, model, epochs=2)
    hook = EvalHook(loader(ds), save_best='mAP')
    runner.register_hook(hook)
    runner.resume(str(tmp_path / 'old.pth'))
    assert runner.meta['hook_msgs']['best_score'] == 0.9
    runner.run([loader(Toy())], [('train', 1)])
    assert not (tmp_path / 'best_mAP.pth').exists()  # 0.5 < 0.9


def test_runner_calls_train_step_with_the_scattered_batch_and_optimizer(tmp_path):
    model = ToyDetector()
    runner = runner_for(tmp_path, model, epochs=1)
    runner.run([loader(Toy())], [('train', 1)])
    assert len(model.steps) == 2
    img_type, metas_type, opt = model.steps[0]
    assert img_type is torch.Tensor and metas_type is list and opt is runner.optimizer
    assert runner.outputs['num_samples'] == 2 and set(runner.outputs) == {'loss', 'log_vars', 'num_samples'}


def test_a_user_detector_overriding_train_step_is_used(tmp_path):
    class Custom(ToyDetector):
        def train_step(self, data, optimizer):
            out = super().train_step(data, optimizer)
            out['log_vars']['custom'] = 7.0
            return out
    model = Custom()
    logged = []

    class Grab(Hook):
        def after_train_iter(self, r):
            logged.append(r.outputs['log_vars'].get('custom'))
    runner = runner_for(tmp_path, model, epochs=1)
    runner.register_hook(Grab())
    runner.run([loader(Toy())], [('train', 1)])
    assert logged == [7.0, 7.0]


def test_val_workflow_calls_val_step(tmp_path):
    model = ToyDetector()
    calls = []
    model.val_step = lambda data, optimizer=None: calls.append(torch.is_grad_enabled()) or dict(
        log_vars=dict(loss=0.0), num_samples=len(data['img_metas']))
    runner = runner_for(tmp_path, model, epochs=1)
    runner.run([loader(Toy()), loader(Toy())], [('train', 1), ('val', 1)])
    assert calls == [False, False]


def test_train_step_must_return_a_dict(tmp_path):
    model = ToyDetector()
    model.train_step = lambda data, optimizer: 1.0
    runner = runner_for(tmp_path, model, epochs=1)
    with pytest.raises(TypeError, match='train_step must return a dict'):
        runner.run([loader(Toy())], [('train', 1)])


def test_swa_average_is_restored_on_resume(tmp_path):
    model = ToyDetector()
    runner = runner_for(tmp_path, model, epochs=2)
    register_config_hooks(runner, dict(policy='fixed'), None, dict(interval=1), None, None, True, False)
    swa = SWAHook(interval=1)
    runner.register_hook(swa)
    runner.run([loader(Toy())], [('train', 1)])
    assert swa.n_averaged == 2
    state = torch.load(tmp_path / 'epoch_2.pth', weights_only=False)['hook_states']['SWAHook']
    assert state['n_averaged'] == 2 and torch.equal(state['swa_state']['w'], swa.swa_state['w'].cpu())
    resumed_model = ToyDetector()
    resumed = runner_for(tmp_path, resumed_model, epochs=3)
    register_config_hooks(resumed, dict(policy='fixed'), None, dict(interval=1), None, None, True, False)
    swa2 = SWAHook(interval=1)
    resumed.register_hook(swa2)
    resumed.resume(str(tmp_path / 'epoch_2.pth'))
    assert swa2.n_averaged == 2
    w3_before = None

    class Before(Hook):
        priority = 'HIGHEST'

        def after_train_epoch(self, r):
            nonlocal w3_before
            w3_before = r.module.w.detach().clone()
    resumed.register_hook(Before(), priority='HIGHEST')
    resumed.run([loader(Toy())], [('train', 1)])
    # the third model joins the two-model average: mean = old + (w3 - old) / 3
    expected = state['swa_state']['w'] + (w3_before - state['swa_state']['w']) / 3
    assert swa2.n_averaged == 3 and torch.allclose(swa2.swa_state['w'], expected)


def test_unknown_hook_state_is_reported_not_fatal(tmp_path, caplog):
    model = ToyDetector()
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1, iter=2),
                    hook_states=dict(SomeoneElsesHook=dict(x=1))), tmp_path / 'c.pth')
    runner = runner_for(tmp_path, model, epochs=1)
    with caplog.at_level(logging.WARNING, logger='test_2x_contract'):
        runner.resume(str(tmp_path / 'c.pth'))
    assert 'SomeoneElsesHook' in caplog.text


def test_val_stages_fall_back_to_the_generic_ones_as_mmcv(tmp_path):
    seen = []

    class Generic(Hook):
        def before_epoch(self, r):
            seen.append(('epoch', r.mode))

        def after_iter(self, r):
            seen.append(('iter', r.mode))
    runner = runner_for(tmp_path, epochs=1)
    runner.register_hook(Generic())
    runner.run([loader(Toy()), loader(Toy())], [('train', 1), ('val', 1)])
    assert seen == [('epoch', 'train'), ('iter', 'train'), ('iter', 'train'), ('epoch', 'val'), ('iter', 'val'),
                    ('iter', 'val')]
