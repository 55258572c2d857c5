"""``custom_imports``: the modules a config names are imported when it is loaded,
so that what they register (backbones, heads, transforms, hooks, ...) can be built."""
import importlib
import warnings


def import_modules_from_strings(imports, allow_failed_imports=False):
    """Import modules by dotted name (mmcv 1.x's function of the same name).

    Args:
        imports (str | list[str]): module names, e.g. ``'my_project.backbones'``.
        allow_failed_imports (bool): warn and go on when a module fails to import
            instead of raising.

    Returns:
        module | list[module | None]: the imported modules, in the order given
        (``None`` for one that failed with ``allow_failed_imports=True``); a
        single module when ``imports`` was a string.
    """
    if not imports:
        return
    single = isinstance(imports, str)
    names = [imports] if single else imports
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f'custom_imports.imports must be a str or a list of str, got {imports!r}')
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as e:
            if not allow_failed_imports:
                raise ImportError(f"custom_imports: failed to import '{name}': {e}. The module must be importable "
                                  f'from the current Python path (e.g. PYTHONPATH=/path/to/your/project)') from e
            warnings.warn(f'custom_imports: {name} failed to import and is ignored ({e})', UserWarning)
            modules.append(None)
    return modules[0] if single else modules


def import_custom_modules(cfg_dict, filename=None):
    """Import what ``cfg_dict['custom_imports']`` names, e.g.
    ``custom_imports = dict(imports=['my_module'], allow_failed_imports=False)``."""
    spec = cfg_dict.get('custom_imports')
    if not spec:
        return
    if not isinstance(spec, dict) or 'imports' not in spec or set(spec) - {'imports', 'allow_failed_imports'}:
        raise TypeError(f'{filename or "config"}: custom_imports must be dict(imports=[...], '
                        f'allow_failed_imports=False), got {spec!r}')
    import_modules_from_strings(spec['imports'], spec.get('allow_failed_imports', False))
