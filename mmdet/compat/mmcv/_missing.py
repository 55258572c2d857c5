"""The error for an mmcv 1.x name this toolbox does not provide."""
import importlib
import importlib.util
import sys

_TARGET_PREFIX = 'mmdet.compat.'


def _submodule(module, name):
    """``module.name`` when it is a submodule of this compatibility layer (e.g. ``mmcv.runner.hooks``),
    imported; None otherwise.  This is what lets ``from mmcv.runner import hooks`` and ``mmcv.cnn``
    (attribute access on the package) find a submodule that was not imported yet."""
    target = f'{_TARGET_PREFIX}{module}.{name}'
    try:
        if importlib.util.find_spec(target) is None:
            return None
    except (ImportError, ValueError):  # the parent is a plain module, not a package
        return None
    alias = sys.modules.get('mmcv')
    if getattr(alias, '__mmdet_compat_target__', None) is not None and module.split('.')[0] == 'mmcv':
        return importlib.import_module(f'{module}.{name}')  # through the alias: sys.modules['mmcv.x.y']
    return importlib.import_module(target)


def missing(module, name):
    """A module-level ``__getattr__`` for the compatibility modules: names the
    mmcv name that is not provided and where this toolbox's equivalents live."""
    if name.startswith('__'):
        raise AttributeError(name)
    sub = _submodule(module, name)
    if sub is not None:
        return sub
    raise ImportError(f"'{module}.{name}' (mmcv 1.x) is not provided by this toolbox's compatibility layer; "
                      f'see docs/porting_2x.md for what each mmcv module maps to (install the real mmcv 1.x to '
                      f'use it instead)', name=name)


def missing_for(module):
    """``__getattr__ = missing_for('mmcv.runner.hooks')``: :func:`missing` bound to one module name."""
    def __getattr__(name):
        return missing(module, name)
    return __getattr__
