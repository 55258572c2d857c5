"""The training loop: an epoch- (or iteration-) based runner driving hooks.

Read it top to bottom: state, hooks, one iteration, one epoch, run, checkpoints.
"""
import contextlib
import os
import os.path as osp
import random
import time

import numpy as np
import torch

import mmdet
from mmdet.parallel import scatter
from mmdet.utils import Registry, build_from_cfg, get_dist_info

from .checkpoint import link_latest, load_checkpoint, load_state_dict_file, rng_state, save_checkpoint, set_rng_state
from .hooks.base import HOOKS, Hook, Priority, get_priority
from .hooks.iter_timer import IterTimerHook
from .hooks.logger import LogBuffer

RUNNERS = Registry('runner')


def to_device(data, device):
    """A collated batch ready for the model on ``device``: DataContainers unpacked (2.x's scatter, see
    :func:`mmdet.parallel.scatter`) and every tensor inside nested lists/dicts moved to ``device``."""
    return scatter(data, device)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class AmpState:
    """Mixed precision from ``fp16=dict(loss_scale=...)``: float16 autocast and a
    GradScaler on CUDA, bfloat16 autocast without scaling on CPU.  As in MMDetection 2.x,
    ``'dynamic'`` (the default) adapts the scale and a number keeps it fixed (``fixed_scale``;
    steps whose gradients overflow are still skipped).

    A dict configures the scaler as mmcv's ``Fp16OptimizerHook`` does (the 2.28 PVT / Swin configs'
    ``loss_scale=dict(init_scale=512)``): torch ``GradScaler``'s keys (``init_scale``, ``growth_factor``,
    ``backoff_factor``, ``growth_interval``, ``enabled``) as they are, and those of mmcv's ``LossScaler``
    mapped onto them: ``scale_factor`` -> ``growth_factor=scale_factor, backoff_factor=1/scale_factor``,
    ``scale_window`` -> ``growth_interval``, ``mode='static'`` -> the fixed scale ``init_scale``
    (``mode='dynamic'``, the default: the dynamic rule).  Keys not given keep GradScaler's defaults
    (``init_scale=65536``, factors 2 and 1/2, ``growth_interval=2000``).  ``scaler_kwargs`` holds what the
    GradScaler gets (on CPU, where there is none, the dict is still checked)."""

    GRAD_SCALER_KEYS = ('init_scale', 'growth_factor', 'backoff_factor', 'growth_interval', 'enabled')
    LOSS_SCALER_KEYS = ('mode', 'scale_factor', 'scale_window')

    def __init__(self, device, loss_scale='dynamic'):
        self.device_type = torch.device(device).type
        self.fixed_scale, self.scaler_kwargs = self.parse_loss_scale(loss_scale)
        if self.device_type == 'cuda':
            self.dtype = torch.float16
            self.scaler = torch.amp.GradScaler('cuda', **self.scaler_kwargs)
        else:
            self.dtype, self.scaler = torch.bfloat16, None

    @classmethod
    def parse_loss_scale(cls, loss_scale):
        """``(fixed_scale, GradScaler keyword arguments)`` for an ``fp16.loss_scale`` value; ``ValueError``
        naming the value for anything else."""
        def positive(x):
            return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0

        if isinstance(loss_scale, str) and loss_scale == 'dynamic':
            return None, {}
        if positive(loss_scale):
            return float(loss_scale), dict(init_scale=float(loss_scale))
        if not isinstance(loss_scale, dict):
            raise ValueError("fp16.loss_scale must be 'dynamic', a positive number or a dict (e.g. "
                             f"dict(init_scale=512.)), got {loss_scale!r}")
        cfg = dict(loss_scale)
        unknown = sorted(set(cfg) - set(cls.GRAD_SCALER_KEYS) - set(cls.LOSS_SCALER_KEYS))
        if unknown:
            raise ValueError(f'fp16.loss_scale={loss_scale!r}: unknown keys {unknown} (known: torch GradScaler\'s '
                             f'{", ".join(cls.GRAD_SCALER_KEYS)} and mmcv LossScaler\'s '
                             f'{", ".join(cls.LOSS_SCALER_KEYS)})')

        def fail(what):
            raise ValueError(f'fp16.loss_scale={loss_scale!r}: {what}')

        kwargs = {}
        if 'init_scale' in cfg:
            if not positive(cfg['init_scale']):
                fail('init_scale must be a positive number')
            kwargs['init_scale'] = float(cfg['init_scale'])
        if 'scale_factor' in cfg:
            if {'growth_factor', 'backoff_factor'} & set(cfg):
                fail('give scale_factor (mmcv LossScaler) or growth_factor/backoff_factor (GradScaler), not both')
            sf = cfg['scale_factor']
            if not positive(sf) or sf <= 1:
                fail('scale_factor must be a number > 1')
            kwargs.update(growth_factor=float(sf), backoff_factor=1.0 / sf)
        if 'growth_factor' in cfg:
            if not positive(cfg['growth_factor']) or cfg['growth_factor'] <= 1:
                fail('growth_factor must be a number > 1')
            kwargs['growth_factor'] = float(cfg['growth_factor'])
        if 'backoff_factor' in cfg:
            if not positive(cfg['backoff_factor']) or cfg['backoff_factor'] >= 1:
                fail('backoff_factor must be a number in (0, 1)')
            kwargs['backoff_factor'] = float(cfg['backoff_factor'])
        if 'scale_window' in cfg and 'growth_interval' in cfg:
            fail('give scale_window (mmcv LossScaler) or growth_interval (GradScaler), not both')
        for key in ('scale_window', 'growth_interval'):
            if key in cfg:
                n = cfg[key]
                if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                    fail(f'{key} must be a positive integer')
                kwargs['growth_interval'] = n
        if 'enabled' in cfg:
            if not isinstance(cfg['enabled'], bool):
                fail('enabled must be True or False')
            kwargs['enabled'] = cfg['enabled']
        mode = cfg.get('mode', 'dynamic')
        if mode not in ('dynamic', 'static'):
            fail(f"mode must be 'dynamic' or 'static', got {mode!r}")
        fixed = kwargs.setdefault('init_scale', 2.0 ** 16) if mode == 'static' else None
        return fixed, kwargs

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype)


@RUNNERS.register_module()
class EpochBasedRunner:

    def __init__(self, model, optimizer=None, work_dir=None, logger=None, meta=None, max_epochs=None,
                 max_iters=None, amp=None, device='cpu', seed=None):
        self.model = model
        self.optimizer = optimizer
        self.work_dir = osp.abspath(work_dir) if work_dir else None
        if self.work_dir:
            os.makedirs(self.work_dir, exist_ok=True)
        if logger is None:
            from mmdet.utils import get_root_logger
            logger = get_root_logger()
        self.logger, self.meta = logger, dict(meta or {})
        self.rank, self.world_size = get_dist_info()
        self.timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        self.device, self.amp, self.seed = device, amp, seed
        self.latest_name = 'latest.pth'
        self._hooks = []
        self.register_hook(IterTimerHook())
        self._epoch = self._iter = self._inner_iter = 0
        self._max_epochs, self._max_iters = max_epochs, max_iters
        self.log_buffer = LogBuffer()
        self.mode, self.data_loader, self.outputs, self.eval_results = None, None, {}, {}
        self.data_batch = None  # the batch of the current iteration, as the loader gave it (mmcv >= 1.4)
        self.should_stop = False  # set by a hook (EarlyStoppingHook): the run ends after the current epoch

    # ---------------------------------------------------------------- state
    @property
    def module(self):
        return self.model.module if hasattr(self.model, 'module') else self.model

    epoch = property(lambda self: self._epoch)
    iter = property(lambda self: self._iter)
    inner_iter = property(lambda self: self._inner_iter)
    max_epochs = property(lambda self: self._max_epochs)
    max_iters = property(lambda self: self._max_iters)
    hooks = property(lambda self: self._hooks)

    @property
    def model_name(self):
        """The model's class name (of the module inside a data-parallel wrapper), as mmcv."""
        return type(self.module).__name__

    def _per_optimizer(self, per_group):
        """``per_group(optimizer)``; a dict of them for a dict of optimizers (mmcv); ``[0.0]`` without one."""
        if self.optimizer is None:
            return [0.0]
        if isinstance(self.optimizer, dict):
            return {name: per_group(opt) for name, opt in self.optimizer.items()}
        return per_group(self.optimizer)

    def current_lr(self):
        """The learning rate of each param group: a list, or a dict of lists for a dict of optimizers."""
        return self._per_optimizer(lambda opt: [g['lr'] for g in opt.param_groups])

    def current_momentum(self):
        """The momentum of each param group as mmcv reads it (``momentum``, else ``betas[0]``, else 0): a
        list, or a dict of lists for a dict of optimizers."""
        def momenta(opt):
            return [g['momentum'] if 'momentum' in g else g['betas'][0] if 'betas' in g else 0
                    for g in opt.param_groups]
        return self._per_optimizer(momenta)

    # ---------------------------------------------------------------- hooks
    def register_hook(self, hook, priority=None):
        if not isinstance(hook, Hook):
            raise TypeError(f'{type(hook).__name__} is not a Hook')
        hook.priority = get_priority(priority if priority is not None else hook.priority)
        i = len(self._hooks)
        while i > 0 and self._hooks[i - 1].priority > hook.priority:
            i -= 1
        self._hooks.insert(i, hook)

    def register_hook_from_cfg(self, hook_cfg):
        """Build a hook from ``dict(type=..., priority=..., **args)`` (mmcv): ``priority`` is for the runner,
        the rest goes to the hook's class; without ``priority`` the class's own (``NORMAL`` mostly)."""
        hook_cfg = dict(hook_cfg)
        priority = hook_cfg.pop('priority', None)
        self.register_hook(build_from_cfg(hook_cfg, HOOKS), priority)

    def call_hook(self, name):
        for hook in self._hooks:
            getattr(hook, name)(self)

    def get_hook_info(self):
        """The hooks each stage calls, in order, with their priority: the table mmcv logs at the start."""
        per_stage = {stage: [] for stage in Hook.stages}
        for hook in self._hooks:
            try:
                priority = Priority(hook.priority).name
            except ValueError:
                priority = hook.priority
            info = f'({priority:<12}) {type(hook).__name__:<35}'
            for stage in hook.get_triggered_stages():
                per_stage[stage].append(info)
        return '\n'.join(f'{stage}:\n' + '\n'.join(infos) + '\n -------------------- '
                         for stage, infos in per_stage.items() if infos)

    @contextlib.contextmanager
    def _running(self):
        """``before_run`` hooks, the body, ``after_run`` hooks; these run even when the body raises (so
        writers get closed).  A failure is logged with where it happened and its traceback, then re-raised
        unchanged; an ``after_run`` hook failing as well is logged, not raised over it."""
        self.call_hook('before_run')
        try:
            yield
        except BaseException as e:
            self.logger.exception(f'training stopped by {type(e).__name__} at {self._where()}: {e}')
            for hook in self._hooks:
                try:
                    hook.after_run(self)
                except Exception:
                    self.logger.exception(f'{type(hook).__name__}.after_run failed as well while stopping')
            raise
        self.call_hook('after_run')

    def _where(self):
        """The current position, 1-based as the log lines print it."""
        if self.mode is None:
            return 'the start (no epoch begun)'
        n = len(self.data_loader) if hasattr(self.data_loader, '__len__') else '?'
        return (f'epoch {self._epoch + 1}, iter {self._inner_iter + 1}/{n} '
                f'({self.mode}; iter {self._iter + 1}/{self._max_iters} overall)')

    # -------------------------------------------------------------- one step
    def run_iter(self, data_batch, train_mode, **kwargs):
        """One iteration, the 2.x contract: ``model.train_step(batch, optimizer, **kwargs)`` (or
        ``val_step``) returns ``dict(loss=..., log_vars=..., num_samples=...)``; the OptimizerHook then
        does the backward pass and the step.  The batch is scattered first (DataContainers unpacked,
        tensors on the runner's device), the step runs under the AMP autocast when enabled; a wrapper
        without the step methods (a plain ``DistributedDataParallel``) gets ``model(**batch)`` and the
        losses parsed here."""
        data_batch = to_device(data_batch, self.device)
        ctx = self.amp.autocast() if self.amp is not None else contextlib.nullcontext()
        method = 'train_step' if train_mode else 'val_step'
        with ctx:
            if hasattr(self.model, method):
                outputs = getattr(self.model, method)(data_batch, self.optimizer, **kwargs)
            else:
                loss, log_vars = self.module._parse_losses(self.model(**data_batch))
                outputs = dict(loss=loss, log_vars=log_vars, num_samples=len(data_batch['img_metas']))
        if not isinstance(outputs, dict):
            raise TypeError(f'{type(self.module).__name__}.{method} must return a dict '
                            f'(loss, log_vars, num_samples), got {type(outputs).__name__}')
        if 'log_vars' in outputs:
            self.log_buffer.update(outputs['log_vars'], outputs['num_samples'])
        self.outputs = outputs

    # ------------------------------------------------------------- one epoch
    def train(self, data_loader, **kwargs):
        self.model.train()
        self.mode, self.data_loader = 'train', data_loader
        self._max_iters = self._max_epochs * len(data_loader)
        if self.seed is not None:  # a seeded epoch draws the same randomness whether resumed or not
            seed_all(self.seed + 1000003 * self._epoch)
        self.call_hook('before_train_epoch')
        for i, data_batch in enumerate(data_loader):
            self._inner_iter, self.data_batch = i, data_batch
            self.call_hook('before_train_iter')
            self.run_iter(data_batch, train_mode=True, **kwargs)
            self.call_hook('after_train_iter')
            self.data_batch = None
            self._consume_log()
            self._iter += 1
        self.call_hook('after_train_epoch')
        self._consume_log()
        self._epoch += 1

    def _consume_log(self):
        # every logger hook has seen the averaged values by now
        if self.log_buffer.ready:
            self.log_buffer.clear_output()

    @torch.no_grad()
    def val(self, data_loader, **kwargs):
        """The ``('val', 1)`` workflow step: losses on the val set, no updates."""
        self.model.eval()
        self.mode, self.data_loader = 'val', data_loader
        self.call_hook('before_val_epoch')
        for i, data_batch in enumerate(data_loader):
            self._inner_iter, self.data_batch = i, data_batch
            self.call_hook('before_val_iter')
            self.run_iter(data_batch, train_mode=False, **kwargs)
            self.call_hook('after_val_iter')
            self.data_batch = None
        self.call_hook('after_val_epoch')
        self._consume_log()

    # ------------------------------------------------------------------- run
    def run(self, data_loaders, workflow, max_epochs=None, **kwargs):
        if max_epochs is not None:
            self._max_epochs = max_epochs
        if self._max_epochs is None:
            raise ValueError("runner needs max_epochs (runner=dict(type='EpochBasedRunner', max_epochs=N))")
        if len(data_loaders) != len(workflow):
            raise ValueError(f'{len(data_loaders)} data loaders for a workflow of {len(workflow)} steps')
        for mode, _ in workflow:
            if mode == 'train':
                self._max_iters = self._max_epochs * len(data_loaders[workflow.index((mode, _))])
                break
        self.logger.info(f'Start running, work_dir: {self.work_dir}; workflow: {workflow}, '
                         f'max: {self._max_epochs} epochs')
        self.logger.info('Hooks will be executed in the following order:\n' + self.get_hook_info())
        with self._running():
            while self._epoch < self._max_epochs and not self.should_stop:
                for (mode, epochs), loader in zip(workflow, data_loaders):
                    if mode not in ('train', 'val'):
                        raise ValueError(f"workflow mode must be 'train' or 'val', got '{mode}'")
                    for _ in range(epochs):
                        if mode == 'train' and (self._epoch >= self._max_epochs or self.should_stop):
                            break
                        getattr(self, mode)(loader, **kwargs)
            time.sleep(0.01)

    # ----------------------------------------------------------- checkpoints
    def _meta(self, extra=None):
        """A checkpoint's meta, merged as mmcv: ``extra`` (``checkpoint_config.meta``), over it the runner's
        meta, over both the training state (epoch, iter, RNG, seed, version)."""
        if extra is not None and not isinstance(extra, dict):
            raise TypeError(f'checkpoint meta must be a dict or None, got {type(extra).__name__}')
        meta = dict(extra or {})
        meta.update(self.meta)
        meta.update(epoch=self._epoch + 1, iter=self._iter, rng=rng_state(), seed=self.seed,
                    mmdet_version=mmdet.__version__)
        return meta

    def save_checkpoint(self, out_dir, filename_tmpl='epoch_{}.pth', save_optimizer=True, meta=None,
                        create_symlink=True, n=None):
        """Write ``filename_tmpl.format(n)`` (n: the epoch just finished by default) into ``out_dir``; with
        ``create_symlink`` point ``out_dir/latest.pth`` at it (else no ``latest.pth`` is touched, as mmcv)."""
        if self.rank != 0:
            return None
        n = self._epoch + 1 if n is None else n
        filename = osp.join(out_dir, filename_tmpl.format(n))
        extra = {'amp_scaler': self.amp.scaler.state_dict()} if self.amp is not None and self.amp.scaler else {}
        if save_optimizer:  # a resumable checkpoint: the hooks' state too
            extra['hook_states'] = self.hook_states()
        save_checkpoint(self.model, filename, self.optimizer if save_optimizer else None, self._meta(meta), extra)
        if create_symlink:
            link_latest(out_dir, filename, self.latest_name)  # latest.pth moves only once the file is complete
        return filename

    def load_checkpoint(self, filename, map_location='cpu', strict=False):
        self.logger.info(f'load checkpoint from {filename}')
        return load_checkpoint(self.model, filename, map_location, strict, self.logger)

    def _hook_keys(self):
        """(key, hook) for every hook: the class name, ``Name#k`` for the k-th further one of a class."""
        seen = {}
        for hook in self._hooks:
            name = type(hook).__qualname__
            k = seen[name] = seen.get(name, -1) + 1
            yield (name if k == 0 else f'{name}#{k}'), hook

    def hook_states(self):
        """The non-empty :meth:`Hook.state_dict` of every hook, by :meth:`_hook_keys` key."""
        return {key: sd for key, hook in self._hook_keys() if (sd := hook.state_dict())}

    def load_hook_states(self, states):
        """Give each hook its saved state; states of hooks this run does not have are reported, not used."""
        keys = dict(self._hook_keys())
        for key, state in states.items():
            if key in keys:
                keys[key].load_state_dict(state)
            else:
                self.logger.warning(f'resume: the checkpoint holds the state of a {key} this run does not have '
                                    '(not used)')

    def resume(self, checkpoint, resume_optimizer=True, map_location='cpu'):
        """Restore weights, optimizer, epoch/iter, RNG, AMP scaler and the hooks' state from ``checkpoint``
        (2.x checkpoints: ``meta['hook_msgs']`` goes to ``runner.meta['hook_msgs']`` as mmcv does)."""
        ckpt = load_state_dict_file(checkpoint, map_location)
        load_checkpoint(self.model, checkpoint, map_location, strict=False, logger=self.logger)
        meta = ckpt.get('meta', {})
        if 'epoch' not in meta:
            raise KeyError(f'{checkpoint} has no training state (meta.epoch); use load_from to start from its weights')
        self._epoch, self._iter = meta['epoch'], meta.get('iter', 0)
        if resume_optimizer and 'optimizer' in ckpt and self.optimizer is not None:
            self.optimizer.load_state_dict(ckpt['optimizer'])
        if self.amp is not None and self.amp.scaler is not None and 'amp_scaler' in ckpt:
            self.amp.scaler.load_state_dict(ckpt['amp_scaler'])
        if meta.get('rng') is not None:
            set_rng_state(meta['rng'])
        if 'hook_msgs' in meta:
            self.meta.setdefault('hook_msgs', {}).update(meta['hook_msgs'])
        self.load_hook_states(ckpt.get('hook_states') or {})
        self.logger.info(f'resumed epoch {self._epoch}, iter {self._iter} from {checkpoint}')


class IterLoader:
    """Endless iteration over a data loader; bumps the sampler epoch on each pass."""

    def __init__(self, loader):
        self._loader, self._epoch = loader, 0
        self._iter = iter(loader)

    def __len__(self):
        return len(self._loader)

    @property
    def sampler(self):
        return self._loader.sampler

    def __next__(self):
        try:
            return next(self._iter)
        except StopIteration:
            self._epoch += 1
            if hasattr(self._loader.sampler, 'set_epoch'):
                self._loader.sampler.set_epoch(self._epoch)
            self._iter = iter(self._loader)
            return next(self._iter)


@RUNNERS.register_module()
class IterBasedRunner(EpochBasedRunner):
    """Runs ``max_iters`` iterations; hooks see ``by_epoch=False`` behaviour."""

    def run(self, data_loaders, workflow, max_iters=None, **kwargs):
        if max_iters is not None:
            self._max_iters = max_iters
        if self._max_iters is None:
            raise ValueError("runner needs max_iters (runner=dict(type='IterBasedRunner', max_iters=N))")
        loaders = [IterLoader(x) for x in data_loaders]
        self._max_epochs = max(1, -(-self._max_iters // max(len(loaders[0]), 1)))
        self.data_loader = loaders[0]
        self.logger.info(f'Start running, work_dir: {self.work_dir}; max: {self._max_iters} iters')
        self.logger.info('Hooks will be executed in the following order:\n' + self.get_hook_info())
        with self._running():
            self.call_hook('before_epoch')
            while self._iter < self._max_iters and not self.should_stop:
                for (mode, iters), loader in zip(workflow, loaders):
                    for _ in range(iters):
                        if mode == 'train' and (self._iter >= self._max_iters or self.should_stop):
                            break
                        self.mode, self.data_loader = mode, loader
                        self._inner_iter = self._iter
                        if mode == 'train':
                            self.model.train()
                            data_batch = self.data_batch = next(loader)
                            self.call_hook('before_train_iter')
                            self.run_iter(data_batch, train_mode=True)
                            self.call_hook('after_train_iter')
                            self.data_batch = None
                            self._consume_log()
                            self._iter += 1
                        else:
                            with torch.no_grad():
                                self.model.eval()
                                data_batch = self.data_batch = next(loader)
                                self.run_iter(data_batch, train_mode=False)
                                self.data_batch = None
            self._epoch = self._max_epochs - 1
            self.call_hook('after_epoch')

    def _where(self):
        return f'iter {self._iter + 1}/{self._max_iters}' + (f' ({self.mode})' if self.mode else '')

    def save_checkpoint(self, out_dir, filename_tmpl='iter_{}.pth', save_optimizer=True, meta=None,
                        create_symlink=True, n=None):
        return super().save_checkpoint(out_dir, filename_tmpl, save_optimizer, meta, create_symlink,
                                       self._iter + 1 if n is None else n)
