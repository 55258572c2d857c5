from .builder import build_runner, register_config_hooks
from .checkpoint import load_checkpoint, resolve_pretrained, save_checkpoint
from .hooks import *  # noqa: F401,F403
from .layer_decay import LayerDecayOptimizerConstructor
from .optimizer import build_optimizer
from .runner import RUNNERS, AmpState, EpochBasedRunner, IterBasedRunner, seed_all, to_device
from .schedule_preview import preview_schedule

__all__ = ['build_runner', 'register_config_hooks', 'load_checkpoint', 'save_checkpoint', 'resolve_pretrained',
           'build_optimizer', 'RUNNERS', 'EpochBasedRunner', 'IterBasedRunner', 'AmpState', 'seed_all', 'to_device',
           'LayerDecayOptimizerConstructor', 'preview_schedule']
