"""Registries and builders of the box components (MMDetection 2.x's ``mmdet.core.bbox.builder``).

This module is the one place where ``BBOX_ASSIGNERS``, ``BBOX_SAMPLERS`` and
``BBOX_CODERS`` are defined; the assigner, sampler and coder modules register
into them, and ``mmdet.core.bbox`` / ``mmdet.core`` re-export them.

The builders take 2.x's ``build_x(cfg, **default_args)`` (e.g.
``build_sampler(cfg, context=head)``) and, as this toolbox always has, a
``default_args`` dict as second argument; both are merged, the config's own
keys winning.
"""
from mmdet.utils import Registry, build_from_cfg

BBOX_ASSIGNERS = Registry('bbox assigner')
BBOX_SAMPLERS = Registry('bbox sampler')
BBOX_CODERS = Registry('bbox coder')


def _merge_defaults(default_args, extra):
    if default_args is not None and not isinstance(default_args, dict):
        raise TypeError(f'default_args must be a dict or None, got {type(default_args).__name__}')
    merged = dict(default_args or {})
    merged.update(extra)
    return merged or None


def build_assigner(cfg, default_args=None, **kwargs):
    """Build a box assigner (e.g. ``MaxIoUAssigner``) from ``cfg``."""
    return build_from_cfg(cfg, BBOX_ASSIGNERS, _merge_defaults(default_args, kwargs))


def build_sampler(cfg, default_args=None, **kwargs):
    """Build a box sampler (e.g. ``PseudoSampler``, ``RandomSampler``) from ``cfg``.

    2.x heads call ``build_sampler(cfg, context=self)``; the samplers here accept
    and ignore ``context`` (2.x's OHEM sampler is the one that uses it).
    """
    return build_from_cfg(cfg, BBOX_SAMPLERS, _merge_defaults(default_args, kwargs))


def build_bbox_coder(cfg, default_args=None, **kwargs):
    """Build a box coder (e.g. ``DeltaXYWHBBoxCoder``) from ``cfg``."""
    return build_from_cfg(cfg, BBOX_CODERS, _merge_defaults(default_args, kwargs))
