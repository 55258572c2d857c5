"""mmcv's ``file_client_args`` here: the local disk is the only storage backend."""
import os.path as osp

from .errors import InvalidArgumentError


def local_file_client(owner, file_client_args=None, out_dir=None):
    """Check a 2.x ``file_client_args`` (and an output directory) against the local-disk-only storage.

    Args:
        owner (str): the class or config key that took them, for the error messages.
        file_client_args (dict | None): None, or a dict whose ``backend`` (if given) and ``prefix`` (if given)
            are ``'disk'`` and which has no other keys (mmcv's disk backend takes none).
        out_dir (str | None): a directory to write to; a URL (``s3://...``) is refused.
    Returns:
        dict: ``file_client_args``, or ``dict(backend='disk')`` for None.
    Raises:
        TypeError: ``file_client_args`` is not a dict or None.
        InvalidArgumentError: (a ``ValueError``) another backend, prefix or key, or a remote ``out_dir``.
    """
    if file_client_args is not None:
        if not isinstance(file_client_args, dict):
            raise TypeError(f'{owner}: file_client_args must be a dict or None, got {file_client_args!r}')
        backend, prefix = file_client_args.get('backend', 'disk'), file_client_args.get('prefix')
        other = sorted(set(file_client_args) - {'backend', 'prefix'})
        if backend not in (None, 'disk') or prefix not in (None, 'disk') or other:
            raise InvalidArgumentError(
                f"{owner}: file_client_args={file_client_args!r} (backend {backend!r}) is not supported: only the "
                "local disk backend is (file_client_args=None or dict(backend='disk')); mmcv's petrel, memcached, "
                'lmdb and http backends are not: read from and write to local directories')
    if out_dir is not None and '://' in str(out_dir):
        raise InvalidArgumentError(f"{owner}: out_dir={out_dir!r} needs a remote file backend (mmcv's FileClient); "
                                   'only local directories are supported here')
    return dict(file_client_args or dict(backend='disk'))


def nested_out_dir(out_dir, work_dir):
    """Where mmcv >= 1.3.16 writes given an ``out_dir``: ``out_dir/<last component of work_dir>``; the work
    dir itself when ``out_dir`` is None / empty or is the work dir; ``out_dir`` as it is without a work dir."""
    if not out_dir:
        return work_dir
    if not work_dir or osp.normpath(osp.abspath(out_dir)) == osp.normpath(osp.abspath(work_dir)):
        return out_dir
    return osp.join(out_dir, osp.basename(osp.normpath(work_dir)))
