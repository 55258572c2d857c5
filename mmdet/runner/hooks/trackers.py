"""Experiment trackers: Weights & Biases and MLflow logger hooks (mmcv 1.x's ``WandbLoggerHook`` and
``MlflowLoggerHook``).

Both log what the other logger hooks log: at every logged training step the averaged losses, ``time``,
``data_time``, the learning rate and the momentum, as ``train/<name>``; after an evaluation the
``EvalHook`` metrics (``bbox_mAP``, ``bbox_mAP_50``, ...) as ``val/<name>``.  The step is the 1-based
global iteration.  At the start of the run the config (``runner.meta['config']``, which
``tools/train.py`` fills) becomes the wandb run config / the MLflow run's params; at the end the final
checkpoint (what ``latest.pth`` points at) is uploaded.

``wandb`` and ``mlflow`` are optional: each is imported in ``before_run``, and a missing one is an
``ImportError`` naming the pip package (``pip install wandb``; ``pip install mlflow-skinny`` is enough).
Only rank 0 talks to the tracker.
"""
import os
import os.path as osp
import warnings

from .base import HOOKS
from .logger import LoggerHook


def flatten_config(cfg, prefix=''):
    """``{'model': {'backbone': {'depth': 18}}}`` -> ``{'model.backbone.depth': 18}`` (lists, tuples and
    other leaves are kept as they are)."""
    flat = {}
    for k, v in cfg.items():
        key = f'{prefix}{k}'
        if isinstance(v, dict) and v:
            flat.update(flatten_config(v, key + '.'))
        else:
            flat[key] = v
    return flat


class TrackerLoggerHook(LoggerHook):
    """What the tracker hooks share: which values are logged, at which step, the config and the final
    checkpoint.  Subclasses implement ``_import``, ``_start``, ``_log_tags`` and ``_finish``."""

    def __init__(self, interval=10, ignore_last=True, reset_flag=False, by_epoch=True):
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self._active = False

    # ----------------------------------------------------------- values
    @staticmethod
    def get_mode(runner):
        """``'train'`` for the averaged training values (they hold ``time``), else ``'val'``."""
        return 'train' if runner.mode == 'train' and 'time' in runner.log_buffer.output else 'val'

    @staticmethod
    def get_step(runner):
        """The 1-based global iteration the logged values belong to."""
        return runner.iter + 1

    def get_loggable_tags(self, runner):
        """``{'<mode>/<name>': number}`` for the numeric log-buffer values, plus ``learning_rate`` and
        ``momentum`` (``learning_rate/<group>`` ... for a dict of optimizers)."""
        mode = self.get_mode(runner)
        tags = {f'{mode}/{k}': float(v) for k, v in runner.log_buffer.output.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}
        optimizer = runner.optimizer
        groups = optimizer.items() if isinstance(optimizer, dict) else [(None, optimizer)] if optimizer else []
        for name, opt in groups:
            suffix = '' if name is None else f'/{name}'
            group = opt.param_groups[0]
            tags[f'learning_rate{suffix}'] = float(group['lr'])
            momentum = group.get('momentum', (group.get('betas') or (None,))[0])
            if momentum is not None:
                tags[f'momentum{suffix}'] = float(momentum)
        return tags

    @staticmethod
    def config_dict(runner):
        """The training config as a plain dict (from ``runner.meta['config']``, the config text
        ``tools/train.py`` stores there); None when the runner was given none."""
        text = (runner.meta or {}).get('config')
        if not text:
            return None
        from mmdet.utils import Config
        return Config.fromstring(text, '.py').to_dict()

    @staticmethod
    def final_checkpoint(runner):
        """The file ``latest.pth`` in the work dir points at; None when there is none."""
        if not runner.work_dir:
            return None
        latest = osp.join(runner.work_dir, runner.latest_name)
        return osp.realpath(latest) if osp.isfile(latest) else None

    # ------------------------------------------------------------ hooks
    def before_run(self, runner):
        if runner.rank != 0:
            return
        self._import()
        self._start(runner)
        self._active = True

    def log(self, runner):
        if not self._active:
            return
        tags = self.get_loggable_tags(runner)
        if tags:
            self._log_tags(runner, tags)

    def after_run(self, runner):
        if not self._active:
            return
        self._active = False  # the runner calls after_run again when a failing after_run stops the run
        self._finish(runner)


@HOOKS.register_module()
class WandbLoggerHook(TrackerLoggerHook):
    """Log to Weights & Biases (``log_config.hooks``: ``dict(type='WandbLoggerHook', init_kwargs=...)``).

    Args:
        init_kwargs (dict | None): ``wandb.init`` arguments (``project``, ``name``, ``entity``, ``mode``,
            ``dir``, ``config`` ...); the training config is merged into the run config (a ``config``
            given here wins over it key by key).
        interval, ignore_last, reset_flag, by_epoch: as for every logger hook.
        commit (bool): ``wandb.log(..., commit=)`` for the training values; an evaluation's values are
            logged with ``commit=False`` at the next step, so they share that step's row instead of
            being dropped by wandb (steps must increase) when the next epoch logs its first iteration.
        with_step (bool): pass the global iteration as ``step=``; False: as a ``global_step`` value,
            wandb numbering its own steps.
        log_artifact (bool): at the end, upload the final checkpoint and the work dir's files ending in
            ``out_suffix`` (logs, the dumped config) as a ``model`` artifact named ``artifacts``.
        out_suffix (str | tuple[str]): which work-dir files go into the artifact besides the checkpoint.
    """

    def __init__(self, init_kwargs=None, interval=10, ignore_last=True, reset_flag=False, commit=True,
                 by_epoch=True, with_step=True, log_artifact=True, out_suffix=('.log.json', '.log', '.py')):
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        if init_kwargs is not None and not isinstance(init_kwargs, dict):
            raise TypeError(f'WandbLoggerHook: init_kwargs must be a dict of wandb.init arguments, '
                            f'got {init_kwargs!r}')
        self.init_kwargs = dict(init_kwargs or {})
        self.commit, self.with_step, self.log_artifact = commit, with_step, log_artifact
        self.out_suffix = (out_suffix,) if isinstance(out_suffix, str) else tuple(out_suffix)
        self.wandb = None

    def _import(self):
        try:
            import wandb
        except ImportError as e:
            raise ImportError('WandbLoggerHook needs the wandb package (pip install wandb)') from e
        self.wandb = wandb

    def _start(self, runner):
        kwargs = dict(self.init_kwargs)
        config = self.config_dict(runner)
        if config is not None:
            kwargs['config'] = {**config, **dict(kwargs.get('config') or {})}
        self.wandb.init(**kwargs)

    def _log_tags(self, runner, tags):
        step = self.get_step(runner)
        commit = self.commit if self.get_mode(runner) == 'train' else False
        if self.with_step:
            self.wandb.log(tags, step=step, commit=commit)
        else:
            self.wandb.log({**tags, 'global_step': step}, commit=commit)

    def _finish(self, runner):
        if self.log_artifact:
            files = []
            ckpt = self.final_checkpoint(runner)
            if ckpt is not None:
                files.append(ckpt)
            else:
                warnings.warn(f'WandbLoggerHook: no {runner.latest_name} in {runner.work_dir}: '
                              'the artifact has no checkpoint')
            if runner.work_dir:
                files += sorted(osp.join(runner.work_dir, f) for f in os.listdir(runner.work_dir)
                                if f.endswith(self.out_suffix) and osp.isfile(osp.join(runner.work_dir, f)))
            if files:
                artifact = self.wandb.Artifact(name='artifacts', type='model')
                for f in files:
                    artifact.add_file(f)
                self.wandb.log_artifact(artifact)
        self.wandb.finish()


@HOOKS.register_module()
class MlflowLoggerHook(TrackerLoggerHook):
    """Log to MLflow (``log_config.hooks``: ``dict(type='MlflowLoggerHook', exp_name=...)``).

    The tracking server is MLflow's usual one: ``MLFLOW_TRACKING_URI`` (``file:/path/mlruns``, an
    ``http://`` server, ...) or ``tracking_uri`` here; the default is ``./mlruns``.

    Args:
        exp_name (str | None): the experiment (created when missing); None: MLflow's active/default one.
        tags (dict | None): run tags.
        params (dict | None): extra run params, logged with the flattened config
            (``model.backbone.depth`` ...; values longer than MLflow's limit are cut).
        log_model (bool): at the end, upload the final checkpoint (``latest.pth``'s target) under the
            run's ``models/`` artifact path.
        interval, ignore_last, reset_flag, by_epoch: as for every logger hook.
        tracking_uri (str | None): ``mlflow.set_tracking_uri`` before the run starts.
        run_name (str | None): the run's name.
    """
    max_param_len = 500  # MLflow's own limit is larger in recent versions; 500 holds on every store

    def __init__(self, exp_name=None, tags=None, params=None, log_model=True, interval=10, ignore_last=True,
                 reset_flag=False, by_epoch=True, tracking_uri=None, run_name=None):
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        for key, value in (('tags', tags), ('params', params)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f'MlflowLoggerHook: {key} must be a dict, got {value!r}')
        self.exp_name, self.tags, self.params = exp_name, tags, params
        self.log_model, self.tracking_uri, self.run_name = log_model, tracking_uri, run_name
        self.mlflow = None

    def _import(self):
        try:
            import mlflow
        except ImportError as e:
            raise ImportError('MlflowLoggerHook needs the mlflow package '
                              '(pip install mlflow-skinny, or pip install mlflow)') from e
        self.mlflow = mlflow

    def _start(self, runner):
        mlflow = self.mlflow
        if self.tracking_uri is not None:
            mlflow.set_tracking_uri(self.tracking_uri)
        if self.exp_name is not None:
            mlflow.set_experiment(self.exp_name)
        self.run = mlflow.start_run(run_name=self.run_name) if mlflow.active_run() is None else mlflow.active_run()
        if self.tags:
            mlflow.set_tags(self.tags)
        params = flatten_config(self.config_dict(runner) or {})
        params.update(self.params or {})
        if params:
            mlflow.log_params({k: str(v)[:self.max_param_len] for k, v in params.items()})

    def _log_tags(self, runner, tags):
        self.mlflow.log_metrics(tags, step=self.get_step(runner))

    def _finish(self, runner):
        if self.log_model:
            ckpt = self.final_checkpoint(runner)
            if ckpt is not None:
                self.mlflow.log_artifact(ckpt, artifact_path='models')
            else:
                warnings.warn(f'MlflowLoggerHook: no {runner.latest_name} in {runner.work_dir}: '
                              'no checkpoint logged')
        self.mlflow.end_run()
