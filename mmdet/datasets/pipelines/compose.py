import collections.abc

from mmdet.utils import Registry, build_from_cfg
from mmdet.utils.host import retain_freed_memory

PIPELINES = Registry('pipeline')


class Compose:
    """Apply transforms in order; a transform returning None drops the sample."""

    def __init__(self, transforms):
        if not isinstance(transforms, collections.abc.Sequence):
            raise TypeError(f'a pipeline must be a list of transforms, got {type(transforms).__name__}')
        self.transforms = [build_from_cfg(t, PIPELINES) if isinstance(t, dict) else t for t in transforms]
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f'pipeline step {t!r} is not callable')
        # each step makes a new float image of several MiB: reuse freed blocks instead of fresh mmaps
        retain_freed_memory()

    def __call__(self, data):
        for t in self.transforms:
            data = t(data)
            if data is None:
                return None
        return data

    def __repr__(self):
        return 'Compose(\n' + ''.join(f'    {t!r}\n' for t in self.transforms) + ')'
