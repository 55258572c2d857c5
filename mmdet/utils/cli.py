"""Shared command-line plumbing of the tools: config loading and one-line errors."""
import functools
import sys


def user_errors():
    """The exception types whose message alone tells the user what to fix."""
    from mmdet.datasets import AnnotationError, ImageReadError
    from mmdet.runner.hooks import NonFiniteLossError
    from mmdet.utils import BuildError, ConfigError
    return (ConfigError, BuildError, AnnotationError, ImageReadError, NonFiniteLossError, FileNotFoundError, KeyError, TypeError)


def main_guard(main):
    """Run ``main``; a user error ends the program with one line naming the culprit and exit code 1."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except user_errors() as e:
            msg = e.args[0] if isinstance(e, KeyError) and e.args else e
            sys.stderr.write(f'error: {type(e).__name__}: {msg}\n')
            sys.exit(1)
    return wrapper


def load_config(path, cfg_options=None):
    from mmdet.utils import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
