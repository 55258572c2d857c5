import glob
import os
import os.path as osp

from .base import HOOKS, Hook


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save ``epoch_N.pth`` (or ``iter_N.pth``) every ``interval``; keep the newest ``max_keep_ckpts``."""
    priority = 'NORMAL'

    def __init__(self, interval=-1, by_epoch=True, save_optimizer=True, out_dir=None, max_keep_ckpts=-1,
                 save_last=True, filename_tmpl=None, **kwargs):
        if kwargs:
            raise TypeError(f'checkpoint_config got unknown keys {sorted(kwargs)}')
        self.interval, self.by_epoch = interval, by_epoch
        self.save_optimizer, self.out_dir = save_optimizer, out_dir
        self.max_keep_ckpts, self.save_last = max_keep_ckpts, save_last
        self.filename_tmpl = filename_tmpl or ('epoch_{}.pth' if by_epoch else 'iter_{}.pth')

    def before_run(self, runner):
        self.out_dir = self.out_dir or runner.work_dir

    def _save(self, runner, n):
        if runner.rank != 0:
            return
        path = runner.save_checkpoint(self.out_dir, filename_tmpl=self.filename_tmpl,
                                      save_optimizer=self.save_optimizer, n=n)
        runner.meta.setdefault('hook_msgs', {})['last_ckpt'] = path  # 2.x readers (mmcv's CheckpointHook)
        if self.max_keep_ckpts > 0:
            pattern = osp.join(self.out_dir, self.filename_tmpl.format('*'))
            prefix, suffix = self.filename_tmpl.split('{}')
            numbered = []
            for f in glob.glob(pattern):
                stem = osp.basename(f)[len(prefix):len(osp.basename(f)) - len(suffix)]
                if stem.isdigit():
                    numbered.append((int(stem), f))
            for _, f in sorted(numbered)[:-self.max_keep_ckpts]:
                os.remove(f)

    def after_train_epoch(self, runner):
        if self.by_epoch and (self.every_n_epochs(runner, self.interval)
                              or (self.save_last and runner.epoch + 1 == runner.max_epochs)):
            self._save(runner, runner.epoch + 1)

    def after_train_iter(self, runner):
        if not self.by_epoch and (self.every_n_iters(runner, self.interval)
                                  or (self.save_last and runner.iter + 1 == runner.max_iters)):
            self._save(runner, runner.iter + 1)
