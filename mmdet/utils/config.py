"""MMDetection-2.x style python configs.

A config file is a python file whose top-level names become config keys.
``_base_`` (a path or a list of paths, relative to the file) names files whose
keys are merged first; a dict in the child is merged recursively into the
base dict unless it carries ``_delete_=True``.
"""
import argparse
import ast
import copy
import json
import os
import os.path as osp
import pprint
import types

from .imports import import_custom_modules as _import_custom_modules

BASE_KEY = '_base_'
DELETE_KEY = '_delete_'
RESERVED_KEYS = ('filename', 'text', 'pretty_text', 'merge_from_dict', 'dump', 'fromfile')


class ConfigError(Exception):
    """A config file or an override that cannot be used; the message names it."""


class ConfigDict(dict):
    """A dict whose keys read and write as attributes (``cfg.model.type``)."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    @staticmethod
    def _wrap(value):
        if isinstance(value, dict) and not isinstance(value, ConfigDict):
            return ConfigDict(value)
        if isinstance(value, list):
            return [ConfigDict._wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(ConfigDict._wrap(v) for v in value)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, self._wrap(value))

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key '{name}'") from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kwargs):
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def copy(self):
        return ConfigDict(self)

    def __deepcopy__(self, memo):
        return ConfigDict({k: copy.deepcopy(v, memo) for k, v in self.items()})

    def to_dict(self):
        def plain(v):
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, list):
                return [plain(x) for x in v]
            if isinstance(v, tuple):
                return tuple(plain(x) for x in v)
            return v
        return plain(self)


def _merge(base, child):
    """Merge ``child`` into a copy of ``base``: a dict merges into a dict key by
    key unless it carries ``_delete_=True``; anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in child.items():
        if isinstance(v, dict) and not v.pop(DELETE_KEY, False) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _strip_delete(d):
    if isinstance(d, dict):
        d.pop(DELETE_KEY, None)
        for v in d.values():
            _strip_delete(v)
    elif isinstance(d, (list, tuple)):
        for v in d:
            _strip_delete(v)
    return d


def _exec_file(filename):
    with open(filename, encoding='utf-8') as f:
        text = f.read()
    try:
        code = compile(text, filename, 'exec')
    except SyntaxError as e:
        raise ConfigError(f'{filename}:{e.lineno}: syntax error in config: {e.msg}') from None
    namespace = {'__file__': filename, '__name__': '__config__'}
    try:
        exec(code, namespace)
    except Exception as e:
        raise ConfigError(f'{filename}: executing the config failed: {type(e).__name__}: {e}') from e
    out = {}
    for k, v in namespace.items():
        if k.startswith('__') or isinstance(v, (types.ModuleType, types.FunctionType, type)):
            continue
        out[k] = v
    return out, text


def _load(filename, stack=()):
    filename = osp.abspath(osp.expanduser(filename))
    if not osp.isfile(filename):
        raise ConfigError(f'config file not found: {filename}')
    if filename in stack:
        raise ConfigError(f'circular _base_ chain: {" -> ".join(stack + (filename,))}')
    if not filename.endswith(('.py', '.json')):
        raise ConfigError(f'{filename}: only .py and .json configs are supported')
    if filename.endswith('.json'):
        with open(filename, encoding='utf-8') as f:
            try:
                d = json.load(f)
            except json.JSONDecodeError as e:
                raise ConfigError(f'{filename}: invalid JSON: {e}') from None
        text = json.dumps(d, indent=4)
    else:
        d, text = _exec_file(filename)
    texts = []
    if BASE_KEY in d:
        bases = d.pop(BASE_KEY)
        bases = [bases] if isinstance(bases, str) else list(bases)
        merged = {}
        for b in bases:
            path = osp.join(osp.dirname(filename), b)
            if not osp.isfile(path):
                raise ConfigError(f"{filename}: _base_ file '{b}' does not exist (looked for {osp.normpath(path)})")
            bd, btext = _load(path, stack + (filename,))
            dup = set(merged) & set(bd)
            if dup:
                raise ConfigError(f'{filename}: keys {sorted(dup)} are defined in more than one _base_ file')
            merged.update(bd)
            texts.append(btext)
        d = _merge(merged, d)
    texts.append(f'# {filename}\n{text}')
    return _strip_delete(d), '\n'.join(texts)


def _format(value, indent=0):
    """Format a value as python source in the 2.x ``dict(...)`` style."""
    pad = ' ' * (indent + 4)
    if isinstance(value, dict):
        if not value:
            return 'dict()'
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            items = [f'{pad}{k}={_format(v, indent + 4)}' for k, v in value.items()]
            return 'dict(\n' + ',\n'.join(items) + ')'
        items = [f'{pad}{k!r}: {_format(v, indent + 4)}' for k, v in value.items()]
        return '{\n' + ',\n'.join(items) + '}'
    if isinstance(value, (list, tuple)):
        open_, close = ('[', ']') if isinstance(value, list) else ('(', ')')
        if not any(isinstance(v, (dict, list, tuple)) for v in value):
            r = repr(value)
            if len(r) + indent < 100:
                return r
        items = [f'{pad}{_format(v, indent + 4)}' for v in value]
        trail = ',' if isinstance(value, tuple) and len(value) == 1 else ''
        return open_ + '\n' + ',\n'.join(items) + trail + close
    return repr(value)


def _parse_value(text):
    """Parse a ``--cfg-options`` value: python literals, bare strings, lists."""
    text = text.strip()
    low = text.lower()
    if low in ('none', 'null'):
        return None
    if low in ('true', 'false'):
        return low == 'true'
    if not text.startswith(('[', '(', '{', '"', "'")) and len(_split_top(text)) > 1:
        return [_parse_value(x) for x in _split_top(text)]  # a,b,c is a list, as in mmcv
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if text.startswith(('[', '(')) and text.endswith((']', ')')):
        inner = text[1:-1]
        items = [_parse_value(x) for x in _split_top(inner)] if inner.strip() else []
        return items if text.startswith('[') else tuple(items)
    return text


def _split_top(text):
    parts, depth, cur = [], 0, ''
    for ch in text:
        if ch in '([':
            depth += 1
        elif ch in ')]':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


class Config:
    """A loaded config: attribute access to its keys plus 2.x helpers."""

    def __init__(self, cfg_dict=None, filename=None, text=''):
        object.__setattr__(self, '_cfg_dict', ConfigDict(cfg_dict or {}))
        object.__setattr__(self, '_filename', filename)
        object.__setattr__(self, '_text', text)

    @staticmethod
    def fromfile(filename, import_custom_modules=True):
        """Load a ``.py`` or ``.json`` config with its ``_base_`` chain; as in mmcv,
        the modules named by its ``custom_imports`` are imported unless
        ``import_custom_modules=False``."""
        d, text = _load(filename)
        if import_custom_modules:
            _import_custom_modules(d, filename)
        return Config(d, filename=filename, text=text)

    @staticmethod
    def fromstring(text, file_format='.py'):
        import tempfile
        with tempfile.NamedTemporaryFile('w', suffix=file_format, delete=False) as f:
            f.write(text)
        try:
            return Config.fromfile(f.name)
        finally:
            os.unlink(f.name)

    @property
    def filename(self):
        return self._filename

    @property
    def text(self):
        return self._text

    @property
    def pretty_text(self):
        lines = [f'{k} = {_format(v)}' for k, v in self._cfg_dict.to_dict().items()]
        return '\n'.join(lines) + '\n'

    def dump(self, file=None):
        text = self.pretty_text
        if file is None:
            return text
        if str(file).endswith('.json'):
            text = json.dumps(self._cfg_dict.to_dict(), indent=4, default=str)
        with open(file, 'w', encoding='utf-8') as f:
            f.write(text)
        return None

    def merge_from_dict(self, options):
        """Apply ``{'a.b.c': value}`` overrides; a list index may be a path part."""
        for full_key, value in options.items():
            node = self._cfg_dict
            parts = full_key.split('.')
            for i, p in enumerate(parts[:-1]):
                if isinstance(node, (list, tuple)) and p.isdigit():
                    node = node[int(p)]
                    continue
                if p not in node or not isinstance(node[p], (dict, list, tuple)):
                    node[p] = ConfigDict()
                node = node[p]
            leaf = parts[-1]
            if isinstance(node, list) and leaf.isdigit():
                node[int(leaf)] = ConfigDict._wrap(value)
            elif isinstance(node, dict):
                if isinstance(value, dict) and isinstance(node.get(leaf), dict) and not value.get(DELETE_KEY):
                    node[leaf] = _merge(node[leaf], value)
                else:
                    node[leaf] = value
            else:
                raise ConfigError(f"--cfg-options: cannot set '{full_key}': '{'.'.join(parts[:-1])}' is not a dict or list")

    # dict-like access -------------------------------------------------
    def __getattr__(self, name):
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name, value):
        self._cfg_dict[name] = value

    def __getitem__(self, name):
        return self._cfg_dict[name]

    def __setitem__(self, name, value):
        self._cfg_dict[name] = value

    def __contains__(self, name):
        return name in self._cfg_dict

    def __iter__(self):
        return iter(self._cfg_dict)

    def __len__(self):
        return len(self._cfg_dict)

    def get(self, name, default=None):
        return self._cfg_dict.get(name, default)

    def keys(self):
        return self._cfg_dict.keys()

    def items(self):
        return self._cfg_dict.items()

    def to_dict(self):
        return self._cfg_dict.to_dict()

    def __deepcopy__(self, memo):
        return Config(copy.deepcopy(self._cfg_dict, memo), self._filename, self._text)

    def __repr__(self):
        return f'Config (path: {self._filename}): {pprint.pformat(self._cfg_dict.to_dict())}'


class DictAction(argparse.Action):
    """argparse action for ``--cfg-options k=v k2=[1,2] k3=a,b``."""

    def __call__(self, parser, namespace, values, option_string=None):
        options = {}
        for kv in values:
            if '=' not in kv:
                parser.error(f"{option_string}: '{kv}' is not of the form key=value")
            key, val = kv.split('=', 1)
            options[key] = _parse_value(val)
        setattr(namespace, self.dest, options)
