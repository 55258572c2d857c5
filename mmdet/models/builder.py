import warnings

from mmdet.utils import Registry, build_from_cfg

BACKBONES = Registry('backbone')
NECKS = Registry('neck')
HEADS = Registry('head')
LOSSES = Registry('loss')
DETECTORS = Registry('detector')


def build_backbone(cfg):
    return build_from_cfg(cfg, BACKBONES)


def build_neck(cfg):
    return build_from_cfg(cfg, NECKS)


def build_head(cfg):
    return build_from_cfg(cfg, HEADS)


def build_loss(cfg):
    return build_from_cfg(cfg, LOSSES)


def build_detector(cfg, train_cfg=None, test_cfg=None):
    """Build a detector; ``train_cfg``/``test_cfg`` may sit inside ``cfg`` (2.x) or be passed."""
    cfg = dict(cfg)
    if train_cfg is not None or test_cfg is not None:
        warnings.warn('train_cfg and test_cfg belong inside model=; passing them separately is deprecated')
        if cfg.get('train_cfg') is not None and train_cfg is not None:
            raise ValueError('train_cfg given both in model= and separately')
        if cfg.get('test_cfg') is not None and test_cfg is not None:
            raise ValueError('test_cfg given both in model= and separately')
        if train_cfg is not None:
            cfg['train_cfg'] = train_cfg
        if test_cfg is not None:
            cfg['test_cfg'] = test_cfg
    return build_from_cfg(cfg, DETECTORS)
