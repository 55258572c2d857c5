"""The backward pass and the optimizer step: every iteration (:class:`OptimizerHook`) or every k-th,
with the gradients of k iterations summed (:class:`GradientCumulativeOptimizerHook`).

Both follow the runner's mixed precision (``runner.amp``, from ``fp16=dict(...)``): with a GradScaler
(CUDA float16) the loss is scaled before backward and the step goes through the scaler; CPU bfloat16
autocast needs no scaling.  mmcv 1.x's ``Fp16OptimizerHook`` / ``GradientCumulativeFp16OptimizerHook``
are therefore these same hooks (the latter is registered under that name too).
"""
import numpy as np
import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import clip_grad_norm_

from .base import HOOKS, Hook


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/inf loss; the message names the loss and the iteration."""


@HOOKS.register_module()
class OptimizerHook(Hook):
    """backward, optional gradient clipping, step.  Stops on a non-finite loss,
    naming which loss term went bad and where; under AMP with
    ``skip_nonfinite=True`` such a step is skipped with a warning instead.

    Args:
        grad_clip (dict | None): keyword arguments of ``clip_grad_norm_`` (``max_norm``, ``norm_type``);
            the norm before clipping is logged as ``grad_norm``.
        skip_nonfinite (bool): under AMP, skip the step of a non-finite loss instead of stopping.
        detect_anomalous_params (bool): mmcv >= 1.4's debugging aid: before each backward, log (as errors)
            the trainable parameters the loss does not depend on (the ones DDP's ``find_unused_parameters``
            complains about).  Walks the autograd graph every iteration: slow, for debugging only.
    """
    priority = 'HIGH'

    def __init__(self, grad_clip=None, skip_nonfinite=False, detect_anomalous_params=False):
        self.grad_clip, self.skip_nonfinite = grad_clip, skip_nonfinite
        self.detect_anomalous_params = detect_anomalous_params

    @staticmethod
    def _scaler(runner):
        return runner.amp.scaler if runner.amp is not None else None

    def _loss_is_finite(self, runner):
        """True to go on; False when this non-finite loss is to be skipped (warned); raises
        :class:`NonFiniteLossError` otherwise.  The check reads the loss as every rank saw it (log_vars are
        averaged over the ranks): one rank's NaN stops or skips the step on all of them, so none is left
        waiting in the gradient all-reduce of the others."""
        out = runner.outputs
        if torch.isfinite(out['loss']) and np.isfinite(out['log_vars'].get('loss', 0.0)):
            return True
        bad = ', '.join(f'{k}={v}' for k, v in out['log_vars'].items() if not np.isfinite(v)) or f'loss={out["loss"]}'
        msg = (f'non-finite loss at epoch {runner.epoch + 1}, iteration {runner.inner_iter + 1} '
               f'(global {runner.iter + 1}): {bad}')
        if self.skip_nonfinite and runner.amp is not None:
            runner.logger.warning(msg + ' - step skipped')
            return False
        raise NonFiniteLossError(msg + '; lower the lr, add grad_clip, or check the data of this batch')

    @staticmethod
    def parameters_in_graph(loss):
        """The set of leaf tensors (parameters) the autograd graph of ``loss`` reaches."""
        found, seen, stack = set(), set(), [loss.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or fn in seen:
                continue
            seen.add(fn)
            if hasattr(fn, 'variable'):
                found.add(fn.variable)
            stack.extend(parent for parent, _ in fn.next_functions)
        return found

    def _report_anomalous(self, runner, loss):
        used = self.parameters_in_graph(loss)
        for name, p in runner.module.named_parameters():
            if p.requires_grad and p not in used:
                runner.logger.error(f'{name} with shape {tuple(p.shape)} is not in the computational graph')

    def _backward(self, runner, loss):
        if self.detect_anomalous_params:
            self._report_anomalous(runner, loss)
        scaler = self._scaler(runner)
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def _step(self, runner):
        """Unscale and clip (with ``grad_clip``), then step (through the GradScaler under CUDA AMP)."""
        scaler = self._scaler(runner)
        if self.grad_clip is not None:
            if scaler is not None:
                scaler.unscale_(runner.optimizer)
            params = [p for p in runner.model.parameters() if p.requires_grad and p.grad is not None]
            if params:
                norm = clip_grad_norm_(params, **self.grad_clip)
                runner.log_buffer.update({'grad_norm': float(norm)}, runner.outputs['num_samples'])
        if scaler is not None:
            scaler.step(runner.optimizer)
            scaler.update(runner.amp.fixed_scale)  # None: the dynamic rule
        else:
            runner.optimizer.step()

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad(set_to_none=True)
        if not self._loss_is_finite(runner):
            return
        self._backward(runner, runner.outputs['loss'])
        self._step(runner)


@HOOKS.register_module(name=['GradientCumulativeOptimizerHook', 'GradientCumulativeFp16OptimizerHook'])
class GradientCumulativeOptimizerHook(OptimizerHook):
    """Sum the gradients of ``cumulative_iters`` iterations, then step once: a batch
    ``cumulative_iters`` times larger without its memory (mmcv 1.x semantics).

    Each loss is divided by the number of iterations of its group, so a group of k batches of b images
    gives the gradient of one batch of k * b (for losses that are means over the batch, and models
    without BatchNorm: BN statistics still see b images, a warning says so).  Groups are counted in
    global iterations: the step follows iteration ``k - 1, 2k - 1, ...`` and the last one; the last,
    incomplete group of ``max_iters % k`` iterations divides by its own length.  Under AMP every backward
    is scaled and the step (unscale, clip, step, scale update) happens once per group.

    A checkpoint written in the middle of a group (an epoch whose length ``k`` does not divide) carries the
    gradients summed so far in this hook's state, so a resume continues the same group exactly.  With
    ``skip_nonfinite`` under AMP a non-finite loss skips the step of its whole group.

    Args:
        cumulative_iters (int): iterations per optimizer step (1: :class:`OptimizerHook`'s behaviour).
        grad_clip, skip_nonfinite: as :class:`OptimizerHook`.
    """

    def __init__(self, cumulative_iters=1, grad_clip=None, skip_nonfinite=False, detect_anomalous_params=False):
        super().__init__(grad_clip=grad_clip, skip_nonfinite=skip_nonfinite,
                         detect_anomalous_params=detect_anomalous_params)
        if isinstance(cumulative_iters, bool) or not isinstance(cumulative_iters, int) or cumulative_iters < 1:
            raise ValueError(f'GradientCumulativeOptimizerHook: cumulative_iters must be a positive integer, '
                             f'got {cumulative_iters!r}')
        self.cumulative_iters = cumulative_iters
        self.pending = 0          # backward passes summed since the last step
        self.group_skipped = False  # a non-finite loss was skipped in the current group
        self._named_params = None
        self._restored = None     # gradients from a checkpoint, put back before the next backward

    def before_run(self, runner):
        self._named_params = list(runner.module.named_parameters())
        k = self.cumulative_iters
        if k > 1 and any(isinstance(m, _BatchNorm) for m in runner.module.modules()):
            runner.logger.warning(f'GradientCumulativeOptimizerHook: the model has BatchNorm layers, whose '
                                  f'statistics see one batch, not {k} accumulated ones: results may differ '
                                  'slightly from a batch as large')
        if runner.iter % k and self._restored is None and not self.pending:
            runner.logger.warning(f'GradientCumulativeOptimizerHook: resumed at iteration {runner.iter}, inside a '
                                  f'group of cumulative_iters={k}, without its gradients: the first step sums '
                                  f'{k - runner.iter % k} iterations, still divided by {k}')

    def loss_factor(self, runner):
        """The divisor of this iteration's loss: ``cumulative_iters``, or in the last incomplete group its
        length ``max_iters % cumulative_iters``."""
        k = self.cumulative_iters
        return k if runner.iter < runner.max_iters // k * k else runner.max_iters % k

    def after_train_iter(self, runner):
        if self._restored is not None:
            self._put_back_gradients()
        if self.pending == 0:
            runner.optimizer.zero_grad(set_to_none=True)
            self.group_skipped = False
        if self._loss_is_finite(runner):
            self._backward(runner, runner.outputs['loss'] / self.loss_factor(runner))
        else:
            self.group_skipped = True
        self.pending += 1
        if not (self.every_n_iters(runner, self.cumulative_iters) or runner.iter + 1 == runner.max_iters):
            return
        if self.group_skipped:
            runner.logger.warning(f'GradientCumulativeOptimizerHook: the step of the {self.pending} iterations '
                                  f'up to {runner.iter + 1} is skipped (a non-finite loss among them)')
        else:
            self._step(runner)
        runner.optimizer.zero_grad(set_to_none=True)
        self.pending = 0

    # --------------------------------------------------------------- state
    def state_dict(self):
        """Mid-group: the gradients summed so far (CPU tensors by parameter name) and their count."""
        if not self.pending or self._named_params is None:
            return {}
        grads = {n: p.grad.detach().cpu() for n, p in self._named_params if p.grad is not None}
        return dict(pending=self.pending, group_skipped=self.group_skipped, grads=grads)

    def load_state_dict(self, state):
        if state:
            self.pending, self.group_skipped = int(state['pending']), bool(state['group_skipped'])
            self._restored = dict(state['grads'])

    def _put_back_gradients(self):
        params = dict(self._named_params)
        unknown = sorted(set(self._restored) - set(params))
        if unknown:
            raise KeyError(f'GradientCumulativeOptimizerHook: the checkpoint holds gradients of parameters this '
                           f'model does not have: {unknown[:8]}')
        for name, grad in self._restored.items():
            p = params[name]
            p.grad = grad.to(device=p.device, dtype=p.dtype)
        self._restored = None
