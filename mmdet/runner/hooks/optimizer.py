import numpy as np
import torch
from torch.nn.utils import clip_grad_norm_

from .base import HOOKS, Hook


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/inf loss; the message names the loss and the iteration."""


@HOOKS.register_module()
class OptimizerHook(Hook):
    """backward, optional gradient clipping, step.  Stops on a non-finite loss,
    naming which loss term went bad and where; under AMP with
    ``skip_nonfinite=True`` such a step is skipped with a warning instead."""
    priority = 'HIGH'

    def __init__(self, grad_clip=None, skip_nonfinite=False):
        self.grad_clip, self.skip_nonfinite = grad_clip, skip_nonfinite

    def after_train_iter(self, runner):
        out = runner.outputs
        loss = out['loss']
        scaler = runner.amp.scaler if runner.amp is not None else None
        # the loss as every rank saw it (log_vars are averaged over the ranks): one rank's NaN stops or skips
        # the step on all of them, so none is left waiting in the gradient all-reduce of the others
        if not (torch.isfinite(loss) and np.isfinite(out['log_vars'].get('loss', 0.0))):
            log_vars = out['log_vars']
            bad = ', '.join(f'{k}={v}' for k, v in log_vars.items() if not np.isfinite(v)) or f'loss={loss}'
            msg = (f'non-finite loss at epoch {runner.epoch + 1}, iteration {runner.inner_iter + 1} '
                   f'(global {runner.iter + 1}): {bad}')
            if self.skip_nonfinite and runner.amp is not None:
                runner.logger.warning(msg + ' - step skipped')
                runner.optimizer.zero_grad(set_to_none=True)
                return
            raise NonFiniteLossError(msg + '; lower the lr, add grad_clip, or check the data of this batch')
        runner.optimizer.zero_grad(set_to_none=True)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if self.grad_clip is not None:
            if scaler is not None:
                scaler.unscale_(runner.optimizer)
            params = [p for p in runner.model.parameters() if p.requires_grad and p.grad is not None]
            if params:
                norm = clip_grad_norm_(params, **self.grad_clip)
                runner.log_buffer.update({'grad_norm': float(norm)}, out['num_samples'])
        if scaler is not None:
            scaler.step(runner.optimizer)
            scaler.update(runner.amp.fixed_scale)  # None: the dynamic rule
        else:
            runner.optimizer.step()
