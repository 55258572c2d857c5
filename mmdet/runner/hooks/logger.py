"""Training logs: text lines with ETA, a json-lines file, TensorBoard, a progress bar."""
import datetime
import json
import os.path as osp
import sys
import time
from collections import OrderedDict

import numpy as np
import torch

from .base import HOOKS, Hook


class LogBuffer:
    """Running (count-weighted) averages of the logged values."""

    def __init__(self):
        self.val_history, self.n_history = OrderedDict(), OrderedDict()
        self.output, self.ready = OrderedDict(), False

    def update(self, vars, count=1):
        for k, v in vars.items():
            self.val_history.setdefault(k, []).append(v)
            self.n_history.setdefault(k, []).append(count)

    def average(self, n=0):
        for k in self.val_history:
            vals = np.array(self.val_history[k][-n:])
            nums = np.array(self.n_history[k][-n:])
            self.output[k] = float(np.sum(vals * nums) / np.sum(nums))
        self.ready = True

    def clear(self):
        self.val_history.clear()
        self.n_history.clear()
        self.clear_output()

    def clear_output(self):
        self.output.clear()
        self.ready = False


class LoggerHook(Hook):
    priority = 'VERY_LOW'

    def __init__(self, interval=10, ignore_last=True, reset_flag=False, by_epoch=True):
        self.interval, self.ignore_last = interval, ignore_last
        self.reset_flag, self.by_epoch = reset_flag, by_epoch

    def log(self, runner):
        raise NotImplementedError

    def before_epoch(self, runner):
        runner.log_buffer.clear()

    def after_train_iter(self, runner):
        if self.by_epoch and self.every_n_inner_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif not self.by_epoch and self.every_n_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif self.end_of_epoch(runner) and not self.ignore_last:
            runner.log_buffer.average(self.interval)
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_train_epoch(self, runner):
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_val_epoch(self, runner):
        runner.log_buffer.average()
        self.log(runner)
        if self.reset_flag:
            runner.log_buffer.clear_output()


@HOOKS.register_module()
class TextLoggerHook(LoggerHook):
    """``Epoch [e][i/n] lr, eta, time, data_time, memory, losses`` lines and
    ``<timestamp>.log.json`` with one json dict per logged step."""

    def __init__(self, by_epoch=True, interval=10, ignore_last=True, reset_flag=False, interval_exp_name=1000):
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.time_sec_tot = 0

    def before_run(self, runner):
        self.start_iter = runner.iter
        self.json_log_path = osp.join(runner.work_dir, f'{runner.timestamp}.log.json')
        if runner.rank == 0:
            meta = runner.meta or {}
            self._dump({k: meta.get(k) for k in ('mmdet_version', 'seed', 'exp_name')})

    def _dump(self, d):
        with open(self.json_log_path, 'a+') as f:
            f.write(json.dumps(d) + '\n')

    @staticmethod
    def _round(x):
        return round(x, 5) if isinstance(x, float) else x

    def log(self, runner):
        out = runner.log_buffer.output
        mode = 'val' if runner.mode == 'val' or 'time' not in out else 'train'
        record = OrderedDict(mode=mode, epoch=runner.epoch if runner.mode == 'val' else runner.epoch + 1,
                             iter=(runner.inner_iter + 1) if self.by_epoch else runner.iter + 1)
        record['lr'] = runner.current_lr()[0]
        if mode == 'train':
            record['time'], record['data_time'] = out['time'], out['data_time']
            if torch.cuda.is_available():
                record['memory'] = int(torch.cuda.max_memory_allocated() / 1024 ** 2)
        for k, v in out.items():
            if k not in ('time', 'data_time'):
                record[k] = v
        if mode == 'train':
            self.time_sec_tot += out['time'] * self.interval
            done = runner.iter - self.start_iter + 1
            eta = self.time_sec_tot / done * (runner.max_iters - runner.iter - 1)
            head = (f'Epoch [{record["epoch"]}][{record["iter"]}/{len(runner.data_loader)}]\t' if self.by_epoch
                    else f'Iter [{record["iter"]}/{runner.max_iters}]\t')
            msg = (head + f'lr: {record["lr"]:.3e}, eta: {datetime.timedelta(seconds=int(eta))}, '
                   f'time: {out["time"]:.3f}, data_time: {out["data_time"]:.3f}')
            if 'memory' in record:
                msg += f', memory: {record["memory"]}'
        else:
            msg = f'Epoch({mode}) [{record["epoch"]}][{record["iter"]}]\t'
        rest = [f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}' for k, v in out.items()
                if k not in ('time', 'data_time')]
        runner.logger.info(msg + (', ' if mode == 'train' and rest else '') + ', '.join(rest))
        if runner.rank == 0:
            self._dump({k: self._round(v) for k, v in record.items()})


@HOOKS.register_module()
class TensorboardLoggerHook(LoggerHook):

    def __init__(self, log_dir=None, interval=10, ignore_last=True, reset_flag=False, by_epoch=True):
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.log_dir = log_dir

    def before_run(self, runner):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise ImportError('TensorboardLoggerHook needs the tensorboard package (pip install tensorboard)') from e
        self.writer = SummaryWriter(self.log_dir or osp.join(runner.work_dir, 'tf_logs')) if runner.rank == 0 else None

    def log(self, runner):
        if self.writer is None:
            return
        for k, v in runner.log_buffer.output.items():
            if isinstance(v, (int, float)):
                self.writer.add_scalar(f'{"train" if "time" in runner.log_buffer.output else "val"}/{k}', v,
                                       runner.iter)
        self.writer.add_scalar('learning_rate', runner.current_lr()[0], runner.iter)

    def after_run(self, runner):
        if self.writer is not None:
            self.writer.close()


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A one-line progress bar with ETA per epoch (to stderr, rank 0)."""
    priority = 'VERY_LOW'

    def __init__(self, width=30):
        self.width = width

    def before_train_epoch(self, runner):
        self.start, self.total = time.time(), len(runner.data_loader)

    def after_train_iter(self, runner):
        if runner.rank != 0:
            return
        done = runner.inner_iter + 1
        elapsed = time.time() - self.start
        eta = elapsed / done * (self.total - done)
        filled = int(self.width * done / self.total)
        loss = runner.outputs['log_vars'].get('loss', float('nan'))
        sys.stderr.write(f'\r[{"#" * filled}{"." * (self.width - filled)}] epoch {runner.epoch + 1}/'
                         f'{runner.max_epochs} {done}/{self.total} loss {loss:.3f} '
                         f'elapsed {int(elapsed)}s ETA {int(eta)}s ')
        if done == self.total:
            sys.stderr.write('\n')
        sys.stderr.flush()
