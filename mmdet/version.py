"""The toolbox version (as ``mmdet/version.py`` in MMDetection 2.x).

``setup.py`` reads this file on its own (it imports nothing), so keep it free of imports from the package.
"""
__version__ = '2.10.0+vfnet.1'
short_version = __version__


def parse_version_info(version_str):
    """Split a version string into a tuple, as 2.x does.

    Args:
        version_str (str): e.g. ``'2.10.0+vfnet.1'`` or ``'2.10.0rc1'``.

    Returns:
        tuple: integers for the numeric parts, then e.g. ``'rc1'`` for a pre-release tag;
        the local part after ``+`` is dropped. ``'2.10.0+vfnet.1'`` -> ``(2, 10, 0)``.
    """
    parts = []
    for x in version_str.split('+')[0].split('.'):
        if x.isdigit():
            parts.append(int(x))
        elif 'rc' in x:
            head, tail = x.split('rc', 1)
            parts.append(int(head))
            parts.append(f'rc{tail}')
        else:
            raise ValueError(f'cannot parse version part {x!r} of {version_str!r}')
    return tuple(parts)


version_info = parse_version_info(__version__)
