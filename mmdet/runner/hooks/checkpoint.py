import glob
import os
import os.path as osp

import torch

from mmdet.utils.dist import average_over_ranks_, is_dist
from mmdet.utils.file_client import local_file_client, nested_out_dir

from .base import HOOKS, Hook


def sync_buffers(model):
    """mmcv's ``sync_buffer``: make the model's buffers (BatchNorm running statistics, ...) equal on every rank
    by averaging them over the ranks, as mmcv's ``allreduce_params(model.buffers())``; integer buffers
    (``num_batches_tracked``), which cannot be averaged, are taken from rank 0.  A collective: every rank
    calls it.  Without an initialised ``torch.distributed`` process group of more than one rank: nothing."""
    if not is_dist() or torch.distributed.get_world_size() < 2:
        return
    buffers = list(model.buffers())
    average_over_ranks_([b for b in buffers if b.is_floating_point()])
    with torch.no_grad():
        for buf in buffers:
            if not buf.is_floating_point():
                torch.distributed.broadcast(buf, 0)


def _log(runner, msg):
    logger = getattr(runner, 'logger', None)  # a stand-in runner may have none
    if logger is not None:
        logger.info(msg)


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save ``epoch_N.pth`` (or ``iter_N.pth``) every ``interval``; keep the newest ``max_keep_ckpts``.

    The arguments of mmcv 1.x's ``CheckpointHook`` (what a 2.x ``checkpoint_config`` holds):

    Args:
        interval (int): save every ``interval`` epochs (iterations with ``by_epoch=False``); -1: never, except
            the last with ``save_last``.
        by_epoch (bool): count epochs (True) or iterations.
        save_optimizer (bool): also save the optimizer (and the hooks' state): a checkpoint to resume from.
        out_dir (str, optional): where to save; None: the work dir.  Another directory gets the work dir's
            last component appended, as mmcv >= 1.3.16: ``out_dir=/ckpts`` with work dir
            ``work_dirs/faster_rcnn`` saves into ``/ckpts/faster_rcnn``.
        max_keep_ckpts (int): keep only the newest this many numbered checkpoints; -1: all.
        save_last (bool): save the last epoch / iteration whatever the interval.
        sync_buffer (bool): before saving, average the model's buffers (BatchNorm statistics) over the ranks
            of a distributed run (:func:`sync_buffers`); no effect without one.
        file_client_args (dict, optional): mmcv's file backend; only the local disk (None or
            ``dict(backend='disk')``) is supported, others raise ``ValueError``.
        filename_tmpl (str, optional): the file name, ``'epoch_{}.pth'`` / ``'iter_{}.pth'`` by default.
        create_symlink (bool): point ``latest.pth`` in the output directory at each new checkpoint (a symlink,
            or a copy where links are not possible); False: no ``latest.pth`` is written at all, as mmcv.
        meta (dict, optional): extra entries for every checkpoint's ``meta`` (the runner's meta and the
            training state -- epoch, iter, ... -- take precedence, as mmcv).
    """
    priority = 'NORMAL'

    def __init__(self, interval=-1, by_epoch=True, save_optimizer=True, out_dir=None, max_keep_ckpts=-1,
                 save_last=True, sync_buffer=False, file_client_args=None, filename_tmpl=None,
                 create_symlink=True, meta=None, **kwargs):
        if kwargs:
            raise TypeError(f'checkpoint_config got unknown keys {sorted(kwargs)} (known: interval, by_epoch, '
                            'save_optimizer, out_dir, max_keep_ckpts, save_last, sync_buffer, file_client_args, '
                            'filename_tmpl, create_symlink, meta)')
        local_file_client('checkpoint_config', file_client_args, out_dir)
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f'checkpoint_config.meta must be a dict or None, got {type(meta).__name__}')
        self.interval, self.by_epoch = interval, by_epoch
        self.save_optimizer = save_optimizer
        self.out_dir = self._out_dir_cfg = out_dir
        self.max_keep_ckpts, self.save_last = max_keep_ckpts, save_last
        self.sync_buffer, self.file_client_args = sync_buffer, file_client_args
        self.create_symlink, self.meta = create_symlink, meta
        self.filename_tmpl = filename_tmpl or ('epoch_{}.pth' if by_epoch else 'iter_{}.pth')

    def before_run(self, runner):
        self.out_dir = nested_out_dir(self._out_dir_cfg, runner.work_dir)
        _log(runner, f'Checkpoints will be saved to {self.out_dir} by HardDiskBackend.')

    def _save(self, runner, n):
        _log(runner, f"Saving checkpoint at {n} {'epochs' if self.by_epoch else 'iterations'}")
        if self.sync_buffer:
            sync_buffers(runner.model)  # every rank takes part
        if runner.rank != 0:
            return
        path = runner.save_checkpoint(self.out_dir, filename_tmpl=self.filename_tmpl,
                                      save_optimizer=self.save_optimizer, meta=self.meta,
                                      create_symlink=self.create_symlink, n=n)
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
                              or (self.save_last and self.is_last_epoch(runner))):
            self._save(runner, runner.epoch + 1)

    def after_train_iter(self, runner):
        if not self.by_epoch and (self.every_n_iters(runner, self.interval)
                                  or (self.save_last and self.is_last_iter(runner))):
            self._save(runner, runner.iter + 1)
