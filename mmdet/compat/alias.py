"""``import mmcv`` -> :mod:`mmdet.compat.mmcv` when no real mmcv is installed."""
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

ALIAS, TARGET = 'mmcv', 'mmdet.compat.mmcv'


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec):
        target = importlib.import_module(TARGET + spec.name[len(ALIAS):])
        module = types.ModuleType(spec.name, target.__doc__)
        # the same objects under the alias name: registries, classes and functions keep their identity
        module.__dict__.update({k: v for k, v in vars(target).items()
                                if k not in ('__name__', '__spec__', '__loader__', '__package__', '__path__')})
        module.__mmdet_compat_target__ = target.__name__
        if hasattr(target, '__path__'):
            module.__path__ = []  # a package: its submodules come through the finder too
        return module

    def exec_module(self, module):
        pass


class _MmcvAliasFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: asked only after the regular finders did not
    find ``mmcv`` (or ``mmcv.x``) on the path, so a real mmcv always wins."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + '.'):
            return None
        if fullname != ALIAS and not hasattr(sys.modules.get(ALIAS), '__mmdet_compat_target__'):
            return None  # a submodule a real mmcv lacks (e.g. mmcv-lite's mmcv.ops): not ours to serve
        if importlib.util.find_spec(TARGET + fullname[len(ALIAS):]) is None:
            return None  # e.g. mmcv.ops.roi_align: not part of this toolbox -> ModuleNotFoundError
        is_pkg = hasattr(importlib.import_module(TARGET + fullname[len(ALIAS):]), '__path__')
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(), is_package=is_pkg)


def install_mmcv_alias():
    """Append the ``mmcv`` alias finder to ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MmcvAliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_MmcvAliasFinder())


def mmcv_is_alias():
    """True when ``import mmcv`` gives this package's compatibility layer (no real mmcv installed)."""
    module = importlib.import_module(ALIAS)
    return getattr(module, '__mmdet_compat_target__', None) is not None
