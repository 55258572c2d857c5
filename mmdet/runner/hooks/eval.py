import os
import os.path as osp
import shutil

from .base import HOOKS, Hook


@HOOKS.register_module()
class EvalHook(Hook):
    """Evaluate on the val loader every ``interval`` epochs.

    ``save_best``: a key of the dataset's ``evaluate`` results (``'bbox_mAP'`` for
    COCO, ``'mAP'`` for VOC) to keep the best model by, as ``best_<key>.pth`` in the
    work dir; ``'auto'`` (2.x): the first metric of the first evaluation's results,
    then that key for the whole run; ``None``: no best checkpoint.  The path of the
    best file is recorded in ``best_ckpt`` and in ``runner.meta['hook_msgs']``
    (``best_ckpt``, ``best_key``, ``best_score``, ``best_epoch``); after a resume the
    best score so far comes from there.
    ``distributed=True`` shards the images over ranks and gathers the results."""
    priority = 'LOW'
    greater_keys = ('mAP', 'AR', 'acc')
    less_keys = ('loss',)

    def __init__(self, dataloader, interval=1, by_epoch=True, save_best=None, rule=None, start=None,
                 distributed=False, tmpdir=None, gpu_collect=False, **eval_kwargs):
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"evaluation.rule must be 'greater' or 'less', got '{rule}'")
        self.dataloader, self.interval, self.by_epoch = dataloader, interval, by_epoch
        if save_best is not None and not isinstance(save_best, str):
            raise TypeError(f"evaluation.save_best must be a metric name, 'auto' or None, got {save_best!r}")
        self.save_best, self.rule, self.start = save_best, rule, start
        self.distributed, self.eval_kwargs = distributed, eval_kwargs
        self.best_score, self.best_ckpt = None, None
        self.key_indicator = None  # the metric save_best resolves to ('auto': fixed at the first evaluation)

    def _should_run(self, runner):
        progress = runner.epoch if self.by_epoch else runner.iter
        if self.start is not None and progress + 1 < self.start:
            return False
        return (self.every_n_epochs if self.by_epoch else self.every_n_iters)(runner, self.interval)

    def after_train_epoch(self, runner):
        if self.by_epoch and self._should_run(runner):
            self.evaluate(runner)

    def after_train_iter(self, runner):
        if not self.by_epoch and self._should_run(runner):
            self.evaluate(runner)

    def evaluate(self, runner):
        from mmdet.apis.test import multi_gpu_test, single_gpu_test
        runner.model.eval()
        if self.distributed:
            results = multi_gpu_test(runner.model, self.dataloader)
        else:
            results = single_gpu_test(runner.model, self.dataloader, show_progress=runner.rank == 0)
        runner.model.train()
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
        """The metric ``save_best`` names; for ``'auto'`` the first numeric result of the first
        evaluation (COCO: ``bbox_mAP``, VOC: ``mAP``), kept for the later evaluations."""
        if self.key_indicator is not None:
            return self.key_indicator
        key = self.save_best
        if key == 'auto':
            key = next((k for k, v in eval_res.items() if isinstance(v, (int, float)) and not isinstance(v, bool)),
                       None)
            if key is None:
                raise KeyError(f"evaluation.save_best='auto': the results {sorted(eval_res)} have no numeric metric")
        if key not in eval_res:
            numeric = [k for k, v in eval_res.items() if isinstance(v, (int, float))]
            raise KeyError(f"evaluation.save_best='{key}' is not among the results {sorted(eval_res)} "
                           f"(metric={self.eval_kwargs.get('metric')!r}); set save_best to one of {numeric}, "
                           "'auto' (the first one) or None (no best checkpoint)")
        self.key_indicator = key
        return key

    def _save_best(self, runner, eval_res):
        key = self._resolve_key(eval_res)
        rule = self.rule or ('less' if any(k in key for k in self.less_keys) else 'greater')
        score = eval_res[key]
        msgs = runner.meta.setdefault('hook_msgs', {})
        if self.best_score is None and msgs.get('best_key') == key and msgs.get('best_score') is not None:
            self.best_score = msgs['best_score']  # resumed: the best so far, from the checkpoint's meta
        better = self.best_score is None or (score > self.best_score if rule == 'greater' else score < self.best_score)
        if not better:
            return
        self.best_score = score
        runner.meta['hook_msgs'].update(best_score=score, best_key=key, best_epoch=runner.epoch + 1)
        name = f'best_{key}.pth'
        last = osp.join(runner.work_dir, f'epoch_{runner.epoch + 1}.pth' if self.by_epoch else f'iter_{runner.iter + 1}.pth')
        dst = osp.join(runner.work_dir, name)
        if osp.isfile(last):
            tmp = dst + '.tmp'
            shutil.copyfile(last, tmp)
            os.replace(tmp, dst)
        else:
            runner.save_checkpoint(runner.work_dir, filename_tmpl=name, create_symlink=False, n=0)
        runner.meta['hook_msgs']['best_ckpt'] = dst
        self.best_ckpt = dst
        runner.logger.info(f'Now best checkpoint is saved as {name} ({key}: {score})')


@HOOKS.register_module()
class DistEvalHook(EvalHook):
    def __init__(self, dataloader, **kwargs):
        kwargs['distributed'] = True
        super().__init__(dataloader, **kwargs)
