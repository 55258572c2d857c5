"""Shared command-line plumbing of the tools: config loading and one-line errors."""
import functools
import sys


def user_errors():
    """The exception types whose message alone tells the user what to fix."""
    from mmdet.datasets import AnnotationError, ImageReadError
    from mmdet.runner.hooks import NonFiniteLossError
    from mmdet.utils import BuildError, ConfigError, InvalidArgumentError
    return (ConfigError, BuildError, AnnotationError, ImageReadError, NonFiniteLossError, InvalidArgumentError,
            FileNotFoundError, KeyError, TypeError)


def take_deprecated_option(parser, args, old, new):
    """2.x's deprecated ``--old`` flag: an error if given with ``--new``, else a warning and its value moved
    to ``args.new`` (flag names as argparse dests, e.g. ``'options'``, ``'cfg_options'``)."""
    import warnings
    flag = lambda name: '--' + name.replace('_', '-')  # noqa: E731
    if getattr(args, old) and getattr(args, new):
        parser.error(f'{flag(old)} and {flag(new)} cannot be both specified, {flag(old)} is deprecated in favor '
                     f'of {flag(new)}')
    if getattr(args, old):
        warnings.warn(f'{flag(old)} is deprecated in favor of {flag(new)}')
        setattr(args, new, getattr(args, old))


def _raised_at(exc):
    """``'path:line in function'`` of the innermost frame of ``exc``'s traceback (path relative to the
    working directory when under it), or ``''`` without a traceback."""
    import os
    import traceback
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ''
    last = frames[-1]
    path = last.filename
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    if not rel.startswith('..'):
        path = rel
    return f'{path}:{last.lineno} in {last.name}'


def debug_requested():
    """Whether ``MMDET_DEBUG`` is set to something other than ``''``/``0``: the tools then let errors
    propagate with their full traceback."""
    import os
    return os.environ.get('MMDET_DEBUG', '') not in ('', '0')


def main_guard(main):
    """Run ``main``; a user error ends the program with one line naming the culprit and exit code 1.
    The generic built-in errors (``KeyError``, ``TypeError``, ``FileNotFoundError``), which may come from
    the user's own code as well as from a config, also name the file, line and function that raised them.
    With ``MMDET_DEBUG=1`` in the environment every error keeps its full traceback.
    A distributed process group the run opened is closed on the way out, whatever the outcome."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        from mmdet.utils.dist import close_dist
        try:
            return main(*args, **kwargs)
        except user_errors() as e:
            if debug_requested():
                raise
            msg = e.args[0] if isinstance(e, KeyError) and e.args else e
            where = ''
            if type(e) in (KeyError, TypeError, FileNotFoundError):
                at = _raised_at(e)
                where = f' (raised at {at}; MMDET_DEBUG=1 shows the traceback)' if at else ''
            sys.stderr.write(f'error: {type(e).__name__}: {msg}{where}\n')
            sys.exit(1)
        finally:
            close_dist()
    return wrapper


# the top-level keys the tools read; any other name is the user's own variable
KNOWN_KEYS = ('model', 'data', 'optimizer', 'optimizer_config', 'lr_config', 'momentum_config', 'runner',
              'total_epochs', 'checkpoint_config', 'log_config', 'evaluation', 'workflow', 'load_from',
              'resume_from', 'auto_resume', 'custom_hooks', 'fp16', 'seed', 'work_dir', 'log_level', 'dist_params',
              'find_unused_parameters', 'train_cfg', 'test_cfg', 'swa_training', 'only_swa_training',
              'swa_load_from', 'swa_resume_from', 'swa_optimizer', 'swa_optimizer_config', 'swa_lr_config',
              'swa_runner', 'swa_total_epochs', 'swa_interval', 'swa_checkpoint_config', 'auto_scale_lr')


def misspelled_keys(cfg):
    """``{key: known_key}`` for top-level keys that look like a typo of a key the tools read."""
    import difflib
    out = {}
    for key in cfg.keys():
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.85)
            if close and close[0] not in cfg:
                out[key] = close[0]
    return out


def load_config(path, cfg_options=None):
    import warnings

    from mmdet.utils import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    for key, known in misspelled_keys(cfg).items():
        warnings.warn(f"{path}: top-level key '{key}' is not used by any tool; did you mean '{known}'?")
    return cfg
