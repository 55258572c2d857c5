"""Where 2.x config keys become runner hooks: one function, one table."""
from mmdet.utils import build_from_cfg

from .hooks import HOOKS, CheckpointHook, DistSamplerSeedHook, build_lr_hook
from .hooks.momentum_updater import build_momentum_hook
from .runner import RUNNERS


def build_runner(cfg, default_args):
    cfg = dict(cfg)
    if cfg.get('type') not in RUNNERS:
        raise KeyError(f"runner.type '{cfg.get('type')}' is not known (EpochBasedRunner, IterBasedRunner)")
    return build_from_cfg(cfg, RUNNERS, default_args)


def register_config_hooks(runner, lr_config, optimizer_config=None, checkpoint_config=None, log_config=None,
                          custom_hooks=None, by_epoch=True, distributed=False, momentum_config=None):
    """``lr_config`` -> lr hook, ``optimizer_config`` -> optimizer hook,
    ``checkpoint_config`` -> checkpoint hook, ``log_config.hooks`` -> loggers,
    ``custom_hooks`` -> anything registered as a hook."""
    if lr_config is not None:
        runner.register_hook(build_lr_hook(lr_config, by_epoch))
    if momentum_config is not None:
        runner.register_hook(build_momentum_hook(momentum_config, by_epoch))
    if optimizer_config is not None:
        opt_cfg = dict(optimizer_config)
        hook_type = opt_cfg.pop('type', 'OptimizerHook')
        # 2.x's fp16 / distributed variants: mixed precision follows the fp16 key, DDP syncs by itself
        hook_type = {'Fp16OptimizerHook': 'OptimizerHook', 'DistOptimizerHook': 'OptimizerHook'}.get(hook_type, hook_type)
        for key in ('loss_scale', 'distributed', 'coalesce', 'bucket_size_mb'):
            opt_cfg.pop(key, None)
        runner.register_hook(build_from_cfg(dict(opt_cfg, type=hook_type), HOOKS))
    if checkpoint_config is not None:
        ck = dict(checkpoint_config)
        ck.pop('type', None)
        ck.setdefault('by_epoch', by_epoch)
        runner.register_hook(CheckpointHook(**ck))
    runner.register_hook(DistSamplerSeedHook())
    if log_config is not None:
        log_cfg = dict(log_config)
        for h in log_cfg.get('hooks', []):
            if not isinstance(h, dict):
                raise TypeError(f'log_config.hooks entries must be dicts with a type, got {h!r}')
            h = dict(h)
            h.setdefault('interval', log_cfg.get('interval', 50))
            if h.get('type') != 'ProgressBarHook':
                h.setdefault('by_epoch', by_epoch)
            else:
                h.pop('interval')
            runner.register_hook(build_from_cfg(h, HOOKS))
    for h in custom_hooks or []:
        if not isinstance(h, dict):
            raise TypeError(f'custom_hooks entries must be dicts with a type, got {h!r}')
        h = dict(h)
        priority = h.pop('priority', None)
        runner.register_hook(build_from_cfg(h, HOOKS), priority)
