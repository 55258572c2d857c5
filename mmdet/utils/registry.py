"""Registries map the ``type`` strings of configs to classes."""
import difflib
import inspect


class Registry:
    """A name -> class table with a decorator to fill it.

    >>> BACKBONES = Registry('backbone')
    >>> @BACKBONES.register_module()
    ... class ResNet: ...
    """

    def __init__(self, name, parent=None):
        self.name = name
        self._module_dict = {}
        self.parent = parent

    def __len__(self):
        return len(self._module_dict)

    def __contains__(self, key):
        return self.get(key) is not None

    def __repr__(self):
        return f'Registry(name={self.name}, items={sorted(self._module_dict)})'

    @property
    def module_dict(self):
        return self._module_dict

    def get(self, key):
        if key in self._module_dict:
            return self._module_dict[key]
        return self.parent.get(key) if self.parent is not None else None

    def _register(self, module, name=None, force=False):
        if not inspect.isclass(module) and not callable(module):
            raise TypeError(f'only classes or functions can be registered, got {type(module)}')
        names = [name] if isinstance(name, str) else (name or [module.__name__])
        for n in names:
            if not force and n in self._module_dict and self._module_dict[n] is not module:
                raise KeyError(f"'{n}' is already registered in the {self.name} registry")
            self._module_dict[n] = module

    def register_module(self, name=None, force=False, module=None):
        if module is not None:
            self._register(module, name, force)
            return module

        def deco(cls):
            self._register(cls, name, force)
            return cls
        return deco

    def close_matches(self, key):
        names = list(self._module_dict)
        if self.parent is not None:
            names += list(self.parent._module_dict)
        return difflib.get_close_matches(key, names, n=3, cutoff=0.6)


class BuildError(TypeError):
    """A config could not be turned into an object; the message says why."""


def build_from_cfg(cfg, registry, default_args=None):
    """Build ``registry[cfg['type']](**rest, **default_args)``."""
    if not isinstance(cfg, dict):
        raise BuildError(f'{registry.name} config must be a dict, got {type(cfg).__name__}: {cfg!r}')
    if 'type' not in cfg and (not default_args or 'type' not in default_args):
        raise BuildError(f"{registry.name} config has no 'type' key: {dict(cfg)!r}")
    args = dict(cfg)
    if default_args:
        for k, v in default_args.items():
            args.setdefault(k, v)
    obj_type = args.pop('type')
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            close = registry.close_matches(obj_type)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ''
            raise BuildError(f"'{obj_type}' is not a registered {registry.name} type{hint} "
                             f'(known: {", ".join(sorted(registry.module_dict))})')
    elif inspect.isclass(obj_type) or callable(obj_type):
        obj_cls = obj_type
    else:
        raise BuildError(f'{registry.name} type must be a str or a class, got {type(obj_type).__name__}')
    _check_kwargs(obj_cls, args, registry.name)
    return obj_cls(**args)


def _check_kwargs(obj_cls, args, registry_name):
    """Name the component and the key when a config passes an unknown argument."""
    try:
        sig = inspect.signature(obj_cls)
    except (TypeError, ValueError):
        return
    params = sig.parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return
    accepted = {p.name for p in params}
    unknown = [k for k in args if k not in accepted]
    if unknown:
        name = getattr(obj_cls, '__name__', str(obj_cls))
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, accepted, n=1)
            hints.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ''))
        raise BuildError(f"{name} ({registry_name}) got unknown config key(s) {', '.join(hints)}; "
                         f'it accepts: {", ".join(sorted(accepted))}')
