"""Evaluation during training: ``EvalHook`` / ``DistEvalHook`` with MMDetection 2.x's semantics.

When it evaluates (``start``, ``interval``; by epoch or by iteration), how the best checkpoint is kept
(``save_best``, ``rule``) and what it rejects are 2.x's (v2.10, ``mmdet/core/evaluation/eval_hooks.py``):

* ``start=None``: after every ``interval``-th epoch (``interval``, ``2 * interval``, ...).
* ``start=s``: after epochs ``s, s + interval, s + 2 * interval, ...``; and once *before* training when
  the run begins at or past ``s`` (``start=0`` evaluates the initial weights; a resumed run evaluates the
  resumed weights first).
* ``save_best``: a metric name, ``'auto'`` (the first metric of the first evaluation) or None.  ``rule``
  ``'greater'``/``'less'``, else inferred from the name (``mAP``, ``AR``, ... greater; ``loss`` less; a
  ``ValueError`` when it cannot be).

The best score, its checkpoint and the resolved metric are this hook's state, saved in every checkpoint
(:meth:`state_dict`) and restored on resume; a 2.x checkpoint's ``meta['hook_msgs']['best_score']`` is
read as 2.x did.  The loop itself is :func:`mmdet.runner.test_loop.single_gpu_test`.
"""
import math
import os.path as osp
import warnings

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from mmdet.runner.hooks.base import HOOKS, Hook
from mmdet.runner.test_loop import multi_gpu_test, single_gpu_test


@HOOKS.register_module()
class EvalHook(Hook):
    """Evaluate the model on ``dataloader``'s dataset during training.

    Args:
        dataloader (DataLoader): the validation loader (a ``TypeError`` otherwise).
        start (int | None): the first epoch (iteration with ``by_epoch=False``) to evaluate after; see the
            module docstring.  Negative values warn and become 0.
        interval (int): evaluate every ``interval`` epochs (iterations); must be positive.
        by_epoch (bool): count epochs (True) or iterations.
        save_best (str | None): keep the best checkpoint by this metric as ``best_<metric>.pth`` in the
            work dir; ``'auto'``: the first metric of the results (COCO ``bbox_mAP``, VOC ``mAP``).
        rule (str | None): ``'greater'`` or ``'less'`` (a ``KeyError`` otherwise); None infers it.
        distributed (bool): shard the images over the ranks and gather the results (``DistEvalHook``).
        broadcast_bn_buffer (bool): distributed only: give every rank rank 0's BatchNorm statistics first,
            so all shards are evaluated with one model (as 2.x's ``DistEvalHook``).
        **eval_kwargs: passed to ``dataset.evaluate`` (``metric``, ``classwise``, ...).
    """
    # before the CheckpointHook (NORMAL): the checkpoint of an evaluated epoch then carries that epoch's
    # evaluation in this hook's state, so a resume from it knows the best so far (2.x: LOW, after it)
    priority = 'ABOVE_NORMAL'
    rule_map = {'greater': lambda x, y: x > y, 'less': lambda x, y: x < y}
    init_value_map = {'greater': -math.inf, 'less': math.inf}
    greater_keys = ('mAP', 'AR', 'acc', 'top', 'AP', 'precision', 'recall')
    less_keys = ('loss',)

    def __init__(self, dataloader, start=None, interval=1, by_epoch=True, save_best=None, rule=None,
                 distributed=False, tmpdir=None, gpu_collect=False, broadcast_bn_buffer=True, **eval_kwargs):
        if not isinstance(dataloader, DataLoader):
            raise TypeError(f'{type(self).__name__}: dataloader must be a torch DataLoader, '
                            f'got {type(dataloader).__name__}')
        if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
            raise ValueError(f'{type(self).__name__}: interval must be a positive integer, got {interval!r}')
        if start is not None and start < 0:
            warnings.warn(f'The evaluation start epoch {start} is smaller than 0, use 0 instead', UserWarning)
            start = 0
        if save_best is not None and not isinstance(save_best, str):
            raise TypeError(f"{type(self).__name__}: save_best must be a metric name, 'auto' or None, "
                            f'got {save_best!r}')
        self.dataloader, self.start, self.interval, self.by_epoch = dataloader, start, interval, by_epoch
        self.save_best, self.distributed, self.broadcast_bn_buffer = save_best, distributed, broadcast_bn_buffer
        self.tmpdir, self.gpu_collect = tmpdir, gpu_collect  # 2.x's collection options: gathering is in memory
        self.eval_kwargs = eval_kwargs
        self.initial_flag = True
        self.best_score, self.best_ckpt, self.best_epoch = None, None, None
        self.rule, self.key_indicator, self.compare_func = None, None, None
        self._resumed_best = False
        if save_best is not None:
            self._init_rule(rule, save_best)
        elif rule is not None:
            self._check_rule(rule)
            self.rule = rule

    # ------------------------------------------------------------ the rule
    def _check_rule(self, rule):
        if rule is not None and rule not in self.rule_map:
            raise KeyError(f"{type(self).__name__}: rule must be 'greater', 'less' or None, got {rule!r}")

    def _init_rule(self, rule, key_indicator):
        self._check_rule(rule)
        if rule is None and key_indicator != 'auto':
            if any(k in key_indicator for k in self.less_keys):
                rule = 'less'
            elif any(k in key_indicator for k in self.greater_keys):
                rule = 'greater'
            else:
                raise ValueError(f"{type(self).__name__}: cannot infer the rule for save_best='{key_indicator}' "
                                 "(neither a greater nor a less metric name): set rule='greater' or 'less'")
        self.rule, self.key_indicator = rule, key_indicator
        self.compare_func = self.rule_map[rule] if rule is not None else None

    # -------------------------------------------------------------- timing
    def _progress(self, runner):
        return runner.epoch if self.by_epoch else runner.iter

    def evaluation_flag(self, runner):
        """Whether to evaluate now, i.e. after epoch (iteration) ``progress + 1``."""
        done = self._progress(runner) + 1
        if self.start is None:
            return done % self.interval == 0
        return done >= self.start and (done - self.start) % self.interval == 0

    def before_run(self, runner):
        if self.save_best is not None:
            runner.meta.setdefault('hook_msgs', {})

    def before_train_epoch(self, runner):
        """2.x: evaluate once before the first epoch of this run when it starts at or past ``start``."""
        if not self.initial_flag:
            return
        self.initial_flag = False
        if self.by_epoch and self.start is not None and runner.epoch >= self.start:
            self.after_train_epoch(runner)

    def before_train_iter(self, runner):
        if not self.initial_flag or self.by_epoch:
            return
        self.initial_flag = False
        if self.start is not None and runner.iter >= self.start:
            self.after_train_iter(runner)

    def after_train_epoch(self, runner):
        if self.by_epoch and self.evaluation_flag(runner):
            self.evaluate(runner)

    def after_train_iter(self, runner):
        if not self.by_epoch and self.evaluation_flag(runner):
            self.evaluate(runner)

    # ---------------------------------------------------------- evaluation
    def _broadcast_bn(self, runner):
        if not (self.distributed and self.broadcast_bn_buffer and torch.distributed.is_initialized()):
            return
        for m in runner.module.modules():
            if isinstance(m, _BatchNorm) and m.track_running_stats:
                torch.distributed.broadcast(m.running_var, 0)
                torch.distributed.broadcast(m.running_mean, 0)

    def evaluate(self, runner):
        """Run the test loop, evaluate on rank 0, log the metrics, keep the best checkpoint.

        Returns:
            dict | None: the dataset's ``evaluate`` results on rank 0, None on the other ranks.
        """
        was_training = runner.model.training
        self._broadcast_bn(runner)
        runner.model.eval()
        try:
            if self.distributed:
                results = multi_gpu_test(runner.model, self.dataloader)
            else:
                results = single_gpu_test(runner.model, self.dataloader, show_progress=runner.rank == 0)
        finally:
            runner.model.train(was_training)
        if runner.rank != 0:
            return None
        eval_res = self.dataloader.dataset.evaluate(results, logger=runner.logger, **self.eval_kwargs)
        runner.log_buffer.clear_output()
        for name, val in eval_res.items():
            runner.log_buffer.output[name] = val
        runner.log_buffer.ready = True
        runner.eval_results = eval_res
        if self.save_best:
            self._save_best(runner, eval_res)
        return eval_res

    def _resolve_key(self, eval_res):
        """The metric ``save_best`` names; ``'auto'``: the first numeric result of the first evaluation."""
        key = self.key_indicator
        if key == 'auto':
            key = next((k for k, v in eval_res.items() if isinstance(v, (int, float)) and not isinstance(v, bool)),
                       None)
            if key is None:
                raise KeyError(f"evaluation.save_best='auto': the results {sorted(eval_res)} have no numeric metric")
            self._init_rule(self.rule, key)
        if key not in eval_res:
            numeric = [k for k, v in eval_res.items() if isinstance(v, (int, float))]
            raise KeyError(f"evaluation.save_best='{key}' is not among the results {sorted(eval_res)} "
                           f"(metric={self.eval_kwargs.get('metric')!r}); set save_best to one of {numeric}, "
                           "'auto' (the first one) or None (no best checkpoint)")
        return key

    def _save_best(self, runner, eval_res):
        key = self._resolve_key(eval_res)
        score = eval_res[key]
        msgs = runner.meta.setdefault('hook_msgs', {})
        if self.best_score is None and not self._resumed_best and msgs.get('best_score') is not None:
            self.best_score = msgs['best_score']  # a 2.x checkpoint: the best so far from its meta
        best = self.init_value_map[self.rule] if self.best_score is None else self.best_score
        if not self.compare_func(score, best):
            return
        self.best_score, self.best_epoch = score, self._progress(runner) + 1
        name = f'best_{key}.pth'
        self.best_ckpt = dst = osp.join(runner.work_dir, name)
        # written here (the hook runs before the CheckpointHook, see `priority`), so it holds this state too
        runner.save_checkpoint(runner.work_dir, filename_tmpl=name, create_symlink=False, n=0)
        msgs.update(best_score=score, best_ckpt=dst, best_key=key, best_epoch=self.best_epoch)  # 2.x readers
        unit = 'epoch' if self.by_epoch else 'iter'
        runner.logger.info(f'Now best checkpoint is saved as {name} ({key}: {score:.4f}, {unit} {self.best_epoch})')

    # --------------------------------------------------------------- state
    def state_dict(self):
        """The best score so far, its checkpoint, epoch and metric (saved in every checkpoint)."""
        if self.save_best is None:
            return {}
        return dict(best_score=self.best_score, best_ckpt=self.best_ckpt, best_epoch=self.best_epoch,
                    key_indicator=self.key_indicator, rule=self.rule)

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` (a resume).  A saved metric replaces ``'auto'``; a saved best for
        another metric than this run's ``save_best`` is dropped."""
        if self.save_best is None or not state:
            return
        key = state.get('key_indicator')
        if self.save_best not in ('auto', key) or key in (None, 'auto'):
            if key not in (None, 'auto'):
                warnings.warn(f'EvalHook: the checkpoint kept the best by {key!r}, this run by '
                              f'{self.save_best!r}: starting the best score afresh')
            return
        self._init_rule(state.get('rule') or self.rule, key)
        self.best_score, self.best_ckpt = state.get('best_score'), state.get('best_ckpt')
        self.best_epoch, self._resumed_best = state.get('best_epoch'), True


@HOOKS.register_module()
class DistEvalHook(EvalHook):
    """:class:`EvalHook` over all ranks (each evaluates its shard); 2.x's signature.

    Args:
        dataloader (DataLoader): the validation loader with a distributed sampler.
        start, interval, by_epoch, save_best, rule: as :class:`EvalHook`.
        tmpdir (str | None), gpu_collect (bool): 2.x's ways of gathering the results; here the results are
            gathered in memory (``torch.distributed.all_gather_object``), these are accepted and unused.
        broadcast_bn_buffer (bool): give every rank rank 0's BatchNorm statistics before evaluating.
    """

    def __init__(self, dataloader, start=None, interval=1, by_epoch=True, tmpdir=None, gpu_collect=False,
                 save_best=None, rule=None, broadcast_bn_buffer=True, **eval_kwargs):
        eval_kwargs.pop('distributed', None)
        super().__init__(dataloader, start=start, interval=interval, by_epoch=by_epoch, save_best=save_best,
                         rule=rule, distributed=True, tmpdir=tmpdir, gpu_collect=gpu_collect,
                         broadcast_bn_buffer=broadcast_bn_buffer, **eval_kwargs)
