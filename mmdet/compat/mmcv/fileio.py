"""``mmcv.load`` / ``mmcv.dump`` (json, pickle, yaml by extension), ``mmcv.mkdir_or_exist``,
``list_from_file`` and ``dict_from_file``."""
import json
import os
import os.path as osp
import pickle

import numpy as np

__all__ = ['load', 'dump', 'mkdir_or_exist', 'list_from_file', 'dict_from_file']


def _format_of(file, file_format):
    fmt = file_format or (osp.splitext(file)[1][1:].lower() if isinstance(file, (str, os.PathLike)) else None)
    fmt = {'yml': 'yaml', 'pkl': 'pickle'}.get(fmt, fmt)
    if fmt not in ('json', 'pickle', 'yaml'):
        raise TypeError(f'unsupported file format {fmt!r} for {file!r} (json, pickle/pkl, yaml/yml)')
    return fmt


def _yaml():
    try:
        import yaml
    except ImportError as e:
        raise ImportError('yaml files need PyYAML: pip install pyyaml') from e
    return yaml


class _NumpyJSON(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, (np.ndarray, np.generic)):
            return o.tolist()
        return super().default(o)


def load(file, file_format=None, **kwargs):
    """Load a json / pickle / yaml file (a path or an open file object)."""
    fmt = _format_of(file, file_format)
    if not isinstance(file, (str, os.PathLike)):
        return {'json': json.load, 'pickle': pickle.load, 'yaml': lambda f, **k: _yaml().safe_load(f)}[fmt](
            file, **kwargs)
    with open(file, 'rb' if fmt == 'pickle' else 'r', encoding=None if fmt == 'pickle' else 'utf-8') as f:
        return load(f, fmt, **kwargs)


def dump(obj, file=None, file_format=None, **kwargs):
    """Dump ``obj`` to ``file`` (format from its extension), or return it as a string (json/yaml) or bytes
    (pickle) when ``file`` is None."""
    if file is None:
        if file_format is None:
            raise ValueError('dump: file_format is needed when no file is given')
        fmt = _format_of(None, file_format)
        return {'json': lambda: json.dumps(obj, cls=_NumpyJSON, **kwargs), 'pickle': lambda: pickle.dumps(obj),
                'yaml': lambda: _yaml().safe_dump(obj, **kwargs)}[fmt]()
    fmt = _format_of(file, file_format)
    if not isinstance(file, (str, os.PathLike)):
        {'json': lambda: json.dump(obj, file, cls=_NumpyJSON, **kwargs), 'pickle': lambda: pickle.dump(obj, file),
         'yaml': lambda: _yaml().safe_dump(obj, file, **kwargs)}[fmt]()
        return None
    with open(file, 'wb' if fmt == 'pickle' else 'w', encoding=None if fmt == 'pickle' else 'utf-8') as f:
        return dump(obj, f, fmt, **kwargs)


def mkdir_or_exist(dir_name, mode=0o777):
    """``os.makedirs(dir_name, exist_ok=True)``; an empty name does nothing."""
    if dir_name:
        os.makedirs(osp.expanduser(dir_name), mode=mode, exist_ok=True)


def list_from_file(filename, prefix='', offset=0, max_num=0, encoding='utf-8'):
    """The lines of a text file as strings (mmcv 1.x): ``offset`` lines skipped, at most ``max_num``
    (0: all), each prefixed by ``prefix``, trailing newlines removed."""
    items = []
    with open(filename, encoding=encoding) as f:
        for _ in range(offset):
            f.readline()
        for line in f:
            if 0 < max_num <= len(items):
                break
            items.append(prefix + line.rstrip('\n\r'))
    return items


def dict_from_file(filename, key_type=str, encoding='utf-8'):
    """A dict from a text file of whitespace-separated columns (mmcv 1.x): the first column is the key
    (converted by ``key_type``), the rest the value (one string, or a list of them)."""
    mapping = {}
    with open(filename, encoding=encoding) as f:
        for line in f:
            items = line.rstrip('\n').split()
            if not items:
                continue
            if len(items) < 2:
                raise ValueError(f'{filename}: line {line!r} has a key but no value')
            mapping[key_type(items[0])] = items[1:] if len(items) > 2 else items[1]
    return mapping
