"""``mmcv.runner.hooks.logger``: the logger hooks (``wandb`` and ``mlflow`` are imported by their hooks'
``before_run`` only)."""
from ...._missing import missing_for
from .base import LoggerHook
from .mlflow import MlflowLoggerHook
from .tensorboard import TensorboardLoggerHook
from .text import TextLoggerHook
from .wandb import WandbLoggerHook

__all__ = ['LoggerHook', 'TextLoggerHook', 'TensorboardLoggerHook', 'WandbLoggerHook', 'MlflowLoggerHook']

__getattr__ = missing_for('mmcv.runner.hooks.logger')
