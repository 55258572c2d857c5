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

The later 2.x / mmcv 1.x arguments are the hook's own, never passed to ``dataset.evaluate``:

* ``dynamic_intervals=[(milestone, interval), ...]`` (2.28, YOLOX): from epoch (iteration) ``milestone``
  on, the interval is ``interval``; decided before every epoch (iteration) from ``progress + 1``, as 2.28.
* ``greater_keys`` / ``less_keys`` (mmcv 1.x): the metric-name fragments the rule is inferred from (they
  replace the defaults); ``out_dir``: the best checkpoint goes to ``out_dir/<basename of work_dir>``;
  ``file_client_args``: local files only (``backend='disk'``), anything else is refused;
  ``test_fn``: the test loop instead of ``single_gpu_test`` / ``multi_gpu_test``.

Every other key goes to ``dataset.evaluate`` and is checked against its signature when the hook is
built: a key it does not take is a ``TypeError`` naming the key, the dataset and the keys it takes (a
dataset whose ``evaluate`` takes ``**kwargs`` accepts anything; a ``ConcatDataset``'s keys are checked
against every part).
"""
import bisect
import difflib
import inspect
import math
import os.path as osp
import warnings

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from mmdet.runner.hooks.base import HOOKS, Hook
from mmdet.runner.test_loop import multi_gpu_test, single_gpu_test
from mmdet.utils import InvalidArgumentError
from mmdet.utils.file_client import local_file_client, nested_out_dir

# the keys of ``evaluation=dict(...)`` that configure the hook; the others go to ``dataset.evaluate``
# (tools/test.py and tools/analysis_tools/eval_metric.py drop these before evaluating)
EVAL_HOOK_KEYS = ('interval', 'start', 'by_epoch', 'save_best', 'rule', 'distributed', 'tmpdir', 'gpu_collect',
                  'broadcast_bn_buffer', 'test_fn', 'greater_keys', 'less_keys', 'out_dir', 'file_client_args',
                  'dynamic_intervals')


def infer_rule(key, greater_keys, less_keys):
    """mmcv 1.x's rule for a metric name, case-insensitive: ``'greater'`` when ``key`` is one of
    ``greater_keys``, else ``'less'`` when one of ``less_keys``, else ``'greater'`` when a greater key is
    part of it, else ``'less'`` when a less key is; None when none applies."""
    k = key.lower()
    greater, less = [g.lower() for g in greater_keys], [s.lower() for s in less_keys]
    if k in greater:
        return 'greater'
    if k in less:
        return 'less'
    if any(g in k for g in greater):
        return 'greater'
    if any(s in k for s in less):
        return 'less'
    return None


def _key_list(owner, name, keys, default):
    """``greater_keys`` / ``less_keys``: None (the defaults), a string or a list/tuple of strings."""
    if keys is None:
        return tuple(default)
    if isinstance(keys, str):
        keys = (keys,)
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise InvalidArgumentError(f'{owner}: {name} must be a metric-name string or a list of them, got {keys!r}')
    return tuple(keys)


def _calc_dynamic_intervals(owner, start_interval, dynamic_intervals):
    """2.28's milestones ``[0, m1, m2, ...]`` and intervals ``[interval, i1, i2, ...]``."""
    pairs = dynamic_intervals
    ok = isinstance(pairs, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in p) for p in pairs)
    if not ok:
        raise InvalidArgumentError(f'{owner}: dynamic_intervals must be a list of (milestone, interval) pairs of '
                                   f'integers, e.g. [(285, 1)], got {dynamic_intervals!r}')
    milestones = [m for m, _ in pairs]
    if any(m < 0 for m in milestones) or any(b <= a for a, b in zip(milestones, milestones[1:])):
        raise InvalidArgumentError(f'{owner}: dynamic_intervals milestones must be non-negative and increasing, '
                                   f'got {milestones}')
    if any(i <= 0 for _, i in pairs):
        raise InvalidArgumentError(f'{owner}: dynamic_intervals intervals must be positive, got '
                                   f'{[i for _, i in pairs]}')
    return [0] + milestones, [start_interval] + [i for _, i in pairs]


def _evaluate_keywords(dataset):
    """``(names, first)``: the keywords ``dataset.evaluate`` takes besides its first argument (the
    results) and ``logger``, and the first argument's name; names None: it takes ``**kwargs``, or its
    signature cannot be read.  None for both when the dataset has no ``evaluate``."""
    evaluate = getattr(dataset, 'evaluate', None)
    if not callable(evaluate):
        return None, None
    try:
        params = list(inspect.signature(evaluate).parameters.values())
    except (TypeError, ValueError):
        return None, None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    first = positional[0].name if positional else None
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None, first
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
             and p.name not in (first, 'logger')]
    return names, first


def _check_eval_kwargs(owner, dataset, eval_kwargs):
    """Fail now, not at the first evaluation, on a key ``dataset.evaluate`` cannot take."""
    if not eval_kwargs:
        return
    from mmdet.datasets.dataset_wrappers import ConcatDataset  # late: the datasets import mmdet.core
    names, first = _evaluate_keywords(dataset)
    reserved = sorted(k for k in eval_kwargs if k in ('logger', first))
    if reserved:
        raise TypeError(f'{owner}: evaluation {reserved} are set by the hook itself (the test results and the '
                        "runner's logger), not by the config")
    # (who, names): the evaluate signatures the keys reach; a ConcatDataset passes them to every part
    targets = [(type(dataset).__name__, names)]
    if names is None and isinstance(dataset, ConcatDataset):
        targets = [(f'{type(dataset).__name__} part {i} ({type(d).__name__})', _evaluate_keywords(d)[0])
                   for i, d in enumerate(dataset.datasets)]
    for who, names in targets:
        if names is None:
            continue
        bad = [k for k in eval_kwargs if k not in names]
        if not bad:
            continue
        hints = []
        for k in bad:
            close = difflib.get_close_matches(k, list(names) + list(EVAL_HOOK_KEYS), n=1)
            if close:
                hints.append(f'{close[0]!r} for {k!r}')
        what = f"key {bad[0]!r} is" if len(bad) == 1 else f"keys {', '.join(repr(k) for k in bad)} are"
        raise TypeError(
            f"{owner}: evaluation {what} neither an argument of the evaluation hook nor a keyword of "
            f"{who}.evaluate, which takes {', '.join(names) or 'none'}"
            + (f" (did you mean {', '.join(hints)}?)" if hints else '')
            + f"; the hook's own arguments are {', '.join(EVAL_HOOK_KEYS)}")


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
            work dir (``out_dir``); ``'auto'``: the first metric of the results (COCO ``bbox_mAP``, VOC ``mAP``).
        rule (str | None): ``'greater'`` or ``'less'`` (a ``KeyError`` otherwise); None infers it from the
            metric name with ``greater_keys`` / ``less_keys`` (:func:`infer_rule`).
        distributed (bool): shard the images over the ranks and gather the results (``DistEvalHook``).
        tmpdir (str | None), gpu_collect (bool): 2.x's ways of gathering the results (the default loop
            gathers in memory and ignores them; a ``test_fn`` gets them when distributed).
        broadcast_bn_buffer (bool): distributed only: give every rank rank 0's BatchNorm statistics first,
            so all shards are evaluated with one model (as 2.x's ``DistEvalHook``).
        test_fn (callable | None): the test loop, ``test_fn(model, dataloader)`` (distributed:
            ``test_fn(model, dataloader, tmpdir=..., gpu_collect=...)``, as mmcv) returning the results in
            dataset order; None: :func:`single_gpu_test` / :func:`multi_gpu_test`.
        greater_keys, less_keys (str | list[str] | None): the name fragments a metric is inferred
            ``'greater'`` / ``'less'`` by (mmcv 1.x); given, they replace the class's defaults.
        out_dir (str | None): where the best checkpoint goes: ``out_dir/<basename of work_dir>`` (mmcv);
            None: the work dir.
        file_client_args (dict | None): mmcv's; only ``backend='disk'`` (local files); others a ``ValueError``.
        dynamic_intervals (list[tuple[int, int]] | None): 2.28's ``[(milestone, interval), ...]``: from
            epoch (iteration) ``milestone`` on, evaluate every ``interval``; before it, every ``interval``.
        **eval_kwargs: passed to ``dataset.evaluate`` (``metric``, ``classwise``, ...); a key its signature
            does not take is a ``TypeError`` here.
    """
    # before the CheckpointHook (NORMAL): the checkpoint of an evaluated epoch then carries that epoch's
    # evaluation in this hook's state, so a resume from it knows the best so far (2.x: LOW, after it)
    priority = 'ABOVE_NORMAL'
    rule_map = {'greater': lambda x, y: x > y, 'less': lambda x, y: x < y}
    init_value_map = {'greater': -math.inf, 'less': math.inf}
    # mmcv 1.x's defaults, and 'AP', 'AR', 'recall' for LVIS's bbox_AP*, COCO proposals' AR_s@1000, VOC's
    # recall@100@0.5 (mmcv cannot infer those); instances given greater_keys/less_keys use those instead
    greater_keys = ('acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU', 'mAcc', 'aAcc',
                    'AP', 'AR', 'recall')
    less_keys = ('loss',)
    _default_greater_keys, _default_less_keys = greater_keys, less_keys  # mmcv's names

    def __init__(self, dataloader, start=None, interval=1, by_epoch=True, save_best=None, rule=None,
                 distributed=False, tmpdir=None, gpu_collect=False, broadcast_bn_buffer=True, test_fn=None,
                 greater_keys=None, less_keys=None, out_dir=None, file_client_args=None, dynamic_intervals=None,
                 **eval_kwargs):
        owner = type(self).__name__
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
        if test_fn is not None and not callable(test_fn):
            raise TypeError(f'{owner}: test_fn must be a callable (model, dataloader) -> results or None, '
                            f'got {test_fn!r}')
        if out_dir is not None and not isinstance(out_dir, str):
            raise TypeError(f'{owner}: out_dir must be a directory path or None, got {out_dir!r}')
        local_file_client(owner, file_client_args, out_dir)
        _check_eval_kwargs(owner, dataloader.dataset, eval_kwargs)
        self.dataloader, self.start, self.interval, self.by_epoch = dataloader, start, interval, by_epoch
        self.save_best, self.distributed, self.broadcast_bn_buffer = save_best, distributed, broadcast_bn_buffer
        self.tmpdir, self.gpu_collect = tmpdir, gpu_collect  # 2.x's collection options: gathering is in memory
        self.test_fn, self.out_dir, self.file_client_args = test_fn, out_dir, file_client_args
        cls = type(self)  # a subclass may override the defaults by our names or by mmcv's
        default_greater = cls.greater_keys if cls.greater_keys is not EvalHook.greater_keys \
            else cls._default_greater_keys
        default_less = cls.less_keys if cls.less_keys is not EvalHook.less_keys else cls._default_less_keys
        self.greater_keys = _key_list(owner, 'greater_keys', greater_keys, default_greater)
        self.less_keys = _key_list(owner, 'less_keys', less_keys, default_less)
        self.use_dynamic_intervals = dynamic_intervals is not None
        if self.use_dynamic_intervals:
            self.dynamic_milestones, self.dynamic_intervals = _calc_dynamic_intervals(owner, interval,
                                                                                      dynamic_intervals)
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
            rule = infer_rule(key_indicator, self.greater_keys, self.less_keys)
            if rule is None:
                raise ValueError(f"{type(self).__name__}: cannot infer the rule for save_best='{key_indicator}' "
                                 f'(no greater key {list(self.greater_keys)} nor less key {list(self.less_keys)} '
                                 "in it): set rule='greater' or 'less', or greater_keys / less_keys")
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

    def _decide_interval(self, runner):
        """2.28: the interval of the milestone reached by epoch (iteration) ``progress + 1``."""
        if self.use_dynamic_intervals:
            step = bisect.bisect(self.dynamic_milestones, self._progress(runner) + 1)
            self.interval = self.dynamic_intervals[step - 1]

    def best_out_dir(self, runner):
        """Where the best checkpoint goes: the work dir, or ``out_dir/<basename of work_dir>`` (mmcv)."""
        return nested_out_dir(self.out_dir, runner.work_dir)

    def before_run(self, runner):
        if self.save_best is not None:
            runner.meta.setdefault('hook_msgs', {})
            if self.out_dir and runner.rank == 0:
                runner.logger.info(f'The best checkpoint will be saved to {self.best_out_dir(runner)}')

    def before_train_epoch(self, runner):
        """2.x: evaluate once before the first epoch of this run when it starts at or past ``start``."""
        self._decide_interval(runner)
        if not self.initial_flag:
            return
        self.initial_flag = False
        if self.by_epoch and self.start is not None and runner.epoch >= self.start:
            self.after_train_epoch(runner)

    def before_train_iter(self, runner):
        self._decide_interval(runner)
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
            if self.test_fn is not None and self.distributed:
                tmpdir = self.tmpdir or osp.join(runner.work_dir, '.eval_hook')
                results = self.test_fn(runner.model, self.dataloader, tmpdir=tmpdir, gpu_collect=self.gpu_collect)
            elif self.test_fn is not None:
                results = self.test_fn(runner.model, self.dataloader)
            elif self.distributed:
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
        out_dir = self.best_out_dir(runner)
        self.best_ckpt = dst = osp.join(out_dir, name)
        # written here (the hook runs before the CheckpointHook, see `priority`), so it holds this state too
        runner.save_checkpoint(out_dir, filename_tmpl=name, create_symlink=False, n=0)
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
            gathered in memory (``torch.distributed.all_gather_object``), these are accepted and unused
            (a ``test_fn`` gets them, as mmcv's).
        broadcast_bn_buffer (bool): give every rank rank 0's BatchNorm statistics before evaluating.
        test_fn, greater_keys, less_keys, out_dir, file_client_args, dynamic_intervals: as :class:`EvalHook`.
    """

    def __init__(self, dataloader, start=None, interval=1, by_epoch=True, tmpdir=None, gpu_collect=False,
                 save_best=None, rule=None, broadcast_bn_buffer=True, test_fn=None, greater_keys=None,
                 less_keys=None, out_dir=None, file_client_args=None, dynamic_intervals=None, **eval_kwargs):
        eval_kwargs.pop('distributed', None)
        super().__init__(dataloader, start=start, interval=interval, by_epoch=by_epoch, save_best=save_best,
                         rule=rule, distributed=True, tmpdir=tmpdir, gpu_collect=gpu_collect,
                         broadcast_bn_buffer=broadcast_bn_buffer, test_fn=test_fn, greater_keys=greater_keys,
                         less_keys=less_keys, out_dir=out_dir, file_client_args=file_client_args,
                         dynamic_intervals=dynamic_intervals, **eval_kwargs)
