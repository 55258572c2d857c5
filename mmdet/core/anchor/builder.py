"""Registry and builder of anchor generators (MMDetection 2.x's ``mmdet.core.anchor.builder``)."""
from mmdet.utils import Registry, build_from_cfg

ANCHOR_GENERATORS = Registry('anchor generator')


def build_anchor_generator(cfg, default_args=None):
    """Build an anchor generator (e.g. ``AnchorGenerator``) from ``cfg``."""
    return build_from_cfg(cfg, ANCHOR_GENERATORS, default_args)
