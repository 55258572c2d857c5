"""Stochastic Weight Averaging (Izmailov et al. 2018) as used by VFNet."""
import os.path as osp

import torch

from .base import HOOKS, Hook


@HOOKS.register_module()
class SWAHook(Hook):
    """Every ``interval`` epochs fold the current weights into an equal-weight
    running mean, save it as ``swa_model_{epoch}.pth`` and, with an
    ``eval_hook``, evaluate it and log its metrics prefixed ``swa_``.
    Buffers (BN statistics) are copied from the current model, not averaged or
    recalibrated.  The running mean and its count are this hook's state: saved in the
    stage's checkpoints, so ``swa_resume_from`` continues the same average."""
    # before the CheckpointHook (NORMAL): the stage's checkpoint of epoch N holds the average including N
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval=1, eval_hook=None):
        self.interval, self.eval_hook = interval, eval_hook
        self.n_averaged, self.swa_state = 0, None

    def after_train_epoch(self, runner):
        if not self.every_n_epochs(runner, self.interval):
            return
        current = runner.module.state_dict()
        if self.swa_state is not None:  # restored from a checkpoint (CPU tensors): onto the model's devices
            self.swa_state = {k: v.to(current[k].device) if k in current else v for k, v in self.swa_state.items()}
        if self.swa_state is None:
            self.swa_state = {k: v.detach().clone() for k, v in current.items()}
        else:
            params = dict(runner.module.named_parameters())
            for k, v in current.items():
                if k in params and v.is_floating_point():
                    self.swa_state[k] += (v.detach() - self.swa_state[k]) / (self.n_averaged + 1)
                else:
                    self.swa_state[k] = v.detach().clone()
        self.n_averaged += 1
        name = f'swa_model_{runner.epoch + 1}.pth'
        backup = {k: v.detach().clone() for k, v in current.items()}
        runner.module.load_state_dict(self.swa_state)
        try:
            runner.save_checkpoint(runner.work_dir, filename_tmpl=name, save_optimizer=False,
                                   meta=dict(swa_n_averaged=self.n_averaged), create_symlink=False, n=0)
            if runner.rank == 0:
                runner.logger.info(f'SWA: averaged {self.n_averaged} models into {osp.join(runner.work_dir, name)}')
            if self.eval_hook is not None:
                res = self.eval_hook.evaluate(runner)
                if res is not None:
                    runner.log_buffer.clear_output()
                    for k, v in res.items():
                        runner.log_buffer.output[f'swa_{k}'] = v
                    runner.log_buffer.ready = True
        finally:
            with torch.no_grad():
                runner.module.load_state_dict(backup)

    def state_dict(self):
        """The running average (CPU tensors) and how many models it holds."""
        if self.swa_state is None:
            return {}
        return dict(n_averaged=self.n_averaged, swa_state={k: v.detach().cpu() for k, v in self.swa_state.items()})

    def load_state_dict(self, state):
        if state:
            self.n_averaged, self.swa_state = int(state['n_averaged']), dict(state['swa_state'])
