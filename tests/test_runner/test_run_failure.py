"""A run that fails still runs the after_run hooks, logs where it failed, and re-raises the original error."""
import pytest
import torch
import torch.nn as nn

from mmdet.models.detectors.base import BaseDetector
from mmdet.runner import EpochBasedRunner, IterBasedRunner
from mmdet.runner.hooks import Hook
from mmdet.runner.hooks.logger import TextLoggerHook
from mmdet.runner.hooks.optimizer import OptimizerHook
from mmdet.utils.logger import get_logger


class Boom(RuntimeError):
    pass


class TinyModel(nn.Module):
    _parse_losses = staticmethod(BaseDetector._parse_losses)

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, img, img_metas):
        return dict(loss_fit=self.fc(img).pow(2).mean())


class Recorder(Hook):
    priority = 'LOWEST'  # after every other hook's after_run

    def __init__(self):
        self.after_run_calls = 0

    def after_run(self, runner):
        self.after_run_calls += 1


class RaiseAt(Hook):
    """Raises ``error`` in after_train_iter at global iteration ``at`` (0-based)."""

    def __init__(self, at, error, after_run_error=None):
        self.at, self.error, self.after_run_error = at, error, after_run_error

    def after_train_iter(self, runner):
        if runner.iter == self.at:
            raise self.error

    def after_run(self, runner):
        if self.after_run_error is not None:
            raise self.after_run_error


@pytest.fixture
def make_runner(tmp_path, request):
    handlers = []

    def make(cls=EpochBasedRunner, **kwargs):
        log_file = tmp_path / 'run.log'
        logger = get_logger(f'mmdet.test_run_failure.{request.node.name}', log_file=str(log_file))
        handlers.extend((logger, h) for h in logger.handlers)
        model = TinyModel()
        runner = cls(model, torch.optim.SGD(model.parameters(), lr=0.01), work_dir=str(tmp_path), logger=logger,
                     **kwargs)
        runner.register_hook(OptimizerHook())
        runner.register_hook(TextLoggerHook(interval=1, by_epoch=cls is EpochBasedRunner))
        recorder = Recorder()
        runner.register_hook(recorder)
        return runner, recorder, log_file

    yield make
    for logger, h in handlers:
        h.close()
        logger.removeHandler(h)


class Loader(list):
    sampler = None  # what IterLoader looks at between passes


LOADER = Loader(dict(img=torch.randn(2, 2), img_metas=[{}, {}]) for _ in range(4))


def test_a_hook_raising_mid_epoch(make_runner):
    runner, recorder, log_file = make_runner(max_epochs=3)
    error = Boom('the data of this batch is bad')
    runner.register_hook(RaiseAt(at=6, error=error))  # epoch 2, its 3rd iteration
    with pytest.raises(Boom) as e:
        runner.run([LOADER], [('train', 1)])
    assert e.value is error
    assert recorder.after_run_calls == 1
    log = log_file.read_text()
    assert 'Epoch [2][2/4]' in log and 'Epoch [2][3/4]' not in log  # the logger's own count of the last step
    assert 'training stopped by Boom at epoch 2, iter 3/4 (train; iter 7/12 overall): the data of this batch ' \
           'is bad' in log
    assert 'Traceback' in log and 'raise self.error' in log


def test_a_failing_after_run_does_not_mask_the_error(make_runner):
    runner, recorder, log_file = make_runner(max_epochs=2)
    error = Boom('first')
    runner.register_hook(RaiseAt(at=1, error=error, after_run_error=ValueError('second')), priority='HIGHEST')
    with pytest.raises(Boom) as e:
        runner.run([LOADER], [('train', 1)])
    assert e.value is error and recorder.after_run_calls == 1
    log = log_file.read_text()
    assert 'training stopped by Boom at epoch 1, iter 2/4' in log
    assert 'RaiseAt.after_run failed as well while stopping' in log and 'ValueError: second' in log


def test_iter_based_and_interrupt(make_runner):
    runner, recorder, log_file = make_runner(IterBasedRunner, max_iters=8)
    interrupt = KeyboardInterrupt()
    runner.register_hook(RaiseAt(at=4, error=interrupt))
    with pytest.raises(KeyboardInterrupt) as e:
        runner.run([LOADER], [('train', 1)])
    assert e.value is interrupt and recorder.after_run_calls == 1
    assert 'training stopped by KeyboardInterrupt at iter 5/8 (train)' in log_file.read_text()


def test_success_runs_after_run_once_and_logs_no_error(make_runner):
    runner, recorder, log_file = make_runner(max_epochs=1)
    runner.run([LOADER], [('train', 1)])
    assert recorder.after_run_calls == 1
    assert ' - ERROR - ' not in log_file.read_text()
