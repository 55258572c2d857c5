"""The error for an mmcv 1.x name this toolbox does not provide."""


def missing(module, name):
    """A module-level ``__getattr__`` for the compatibility modules: names the
    mmcv name that is not provided and where this toolbox's equivalents live."""
    if name.startswith('__'):
        raise AttributeError(name)
    raise ImportError(f"'{module}.{name}' (mmcv 1.x) is not provided by this toolbox's compatibility layer; "
                      f'see docs/porting_2x.md for what each mmcv module maps to (install the real mmcv 1.x to '
                      f'use it instead)', name=name)
