import os
import os.path as osp
import shutil

from .base import HOOKS, Hook


@HOOKS.register_module()
class EvalHook(Hook):
    """Evaluate on the val loader every ``interval`` epochs; with ``save_best``
    keep ``best_<metric>.pth`` (``'auto'``: the first metric returned).
    ``distributed=True`` shards the images over ranks and gathers the results."""
    priority = 'LOW'
    greater_keys = ('mAP', 'AR', 'acc')
    less_keys = ('loss',)

    def __init__(self, dataloader, interval=1, by_epoch=True, save_best=None, rule=None, start=None,
                 distributed=False, tmpdir=None, gpu_collect=False, **eval_kwargs):
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"evaluation.rule must be 'greater' or 'less', got '{rule}'")
        self.dataloader, self.interval, self.by_epoch = dataloader, interval, by_epoch
        self.save_best, self.rule, self.start = save_best, rule, start
        self.distributed, self.eval_kwargs = distributed, eval_kwargs
        self.best_score, self.best_ckpt = None, None

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

    def _save_best(self, runner, eval_res):
        key = self.save_best
        if key == 'auto':
            key = next(k for k, v in eval_res.items() if isinstance(v, (int, float)))
        if key not in eval_res:
            raise KeyError(f"evaluation.save_best='{key}' is not among the results {sorted(eval_res)}")
        rule = self.rule or ('less' if any(k in key for k in self.less_keys) else 'greater')
        score = eval_res[key]
        better = self.best_score is None or (score > self.best_score if rule == 'greater' else score < self.best_score)
        runner.meta.setdefault('hook_msgs', {})
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
        runner.logger.info(f'Now best checkpoint is saved as {name} ({key}: {score})')


@HOOKS.register_module()
class DistEvalHook(EvalHook):
    def __init__(self, dataloader, **kwargs):
        kwargs['distributed'] = True
        super().__init__(dataloader, **kwargs)
