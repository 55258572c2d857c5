"""``mmcv.runner.base_module``: mmcv 1.x's ``BaseModule``, ``Sequential``, ``ModuleList``, ``ModuleDict`` and
the ``init_cfg`` initializers (``mmcv.cnn.initialize``), for 2.x backbones, necks and heads written on them.

``init_weights()`` applies ``init_cfg`` (a dict or a list of dicts: ``Normal``, ``Xavier``, ``Kaiming``,
``Constant``, ``Uniform``, ``TruncNormal``, ``Caffe2Xavier``, ``Pretrained``; ``layer`` names the layer classes
(a class or a direct base class name matches), ``override`` initialises named children wholly, ``bias_prob``
sets the bias to ``bias_init_with_prob(bias_prob)``), then calls ``init_weights()`` of each direct child that
has one; a ``Pretrained`` dict stops there, so the children do not overwrite the loaded weights.  As mmcv's,
a module initialises once (``is_init``); a second call warns and does nothing.

One addition: ``init_weights(pretrained=...)`` is accepted (this toolbox's detectors call
``backbone.init_weights(pretrained=...)``): a path or pretrained name there means
``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``, as a 2.x backbone's ``pretrained`` argument.
"""
import copy
import logging
import warnings
from abc import ABCMeta

import torch.nn as nn

from mmdet.ops import bias_init_with_prob, constant_init, kaiming_init, normal_init, xavier_init
from mmdet.utils import InvalidArgumentError, Registry, build_from_cfg

from .._missing import missing_for

__all__ = ['BaseModule', 'Sequential', 'ModuleList', 'ModuleDict', 'INITIALIZERS', 'initialize']

INITIALIZERS = Registry('initializer')  # mmcv.cnn.INITIALIZERS: register your own init_cfg types here

_logger = logging.getLogger('mmdet')  # shown once the toolbox's logger is set up (training), silent before


def _has_weight(m):
    return getattr(m, 'weight', None) is not None


class BaseInit:
    """What the initializers share: ``bias`` (or ``bias_prob``) and the ``layer`` class names."""

    def __init__(self, bias=0, bias_prob=None, layer=None):
        self.wholemodule = False  # True for an override: every submodule of the named child, whatever its class
        if not isinstance(bias, (int, float)):
            raise TypeError(f'init_cfg: bias must be a number, got {type(bias).__name__}')
        if bias_prob is not None and not isinstance(bias_prob, float):
            raise TypeError(f'init_cfg: bias_prob must be a float, got {type(bias_prob).__name__}')
        if layer is not None and not isinstance(layer, (str, list, tuple)):
            raise TypeError(f'init_cfg: layer must be a str or a list of str, got {type(layer).__name__}')
        self.bias = bias_init_with_prob(bias_prob) if bias_prob is not None else bias
        self.layer = [] if layer is None else [layer] if isinstance(layer, str) else list(layer)

    def _matches(self, m):
        if self.wholemodule:
            return True
        names = {type(m).__name__} | {b.__name__ for b in type(m).__bases__}
        return bool(names & set(self.layer))

    def init(self, m):
        raise NotImplementedError

    def __call__(self, module):
        module.apply(lambda m: self.init(m) if self._matches(m) else None)


@INITIALIZERS.register_module(name='Constant')
class ConstantInit(BaseInit):
    def __init__(self, val, bias=0, bias_prob=None, layer=None):
        super().__init__(bias, bias_prob, layer)
        self.val = val

    def init(self, m):
        constant_init(m, self.val, self.bias)


@INITIALIZERS.register_module(name='Xavier')
class XavierInit(BaseInit):
    def __init__(self, gain=1, distribution='normal', bias=0, bias_prob=None, layer=None):
        super().__init__(bias, bias_prob, layer)
        self.gain, self.distribution = gain, distribution

    def init(self, m):
        if _has_weight(m):
            xavier_init(m, self.gain, self.bias, self.distribution)


@INITIALIZERS.register_module(name='Normal')
class NormalInit(BaseInit):
    def __init__(self, mean=0, std=1, bias=0, bias_prob=None, layer=None):
        super().__init__(bias, bias_prob, layer)
        self.mean, self.std = mean, std

    def init(self, m):
        if _has_weight(m):
            normal_init(m, self.mean, self.std, self.bias)


@INITIALIZERS.register_module(name='TruncNormal')
class TruncNormalInit(BaseInit):
    def __init__(self, mean=0, std=1, a=-2, b=2, bias=0, bias_prob=None, layer=None):
        super().__init__(bias, bias_prob, layer)
        self.mean, self.std, self.a, self.b = mean, std, a, b

    def init(self, m):
        if _has_weight(m):
            nn.init.trunc_normal_(m.weight, self.mean, self.std, self.a, self.b)
            if getattr(m, 'bias', None) is not None:
                nn.init.constant_(m.bias, self.bias)


@INITIALIZERS.register_module(name='Uniform')
class UniformInit(BaseInit):
    def __init__(self, a=0, b=1, bias=0, bias_prob=None, layer=None):
        super().__init__(bias, bias_prob, layer)
        self.a, self.b = a, b

    def init(self, m):
        if _has_weight(m):
            nn.init.uniform_(m.weight, self.a, self.b)
            if getattr(m, 'bias', None) is not None:
                nn.init.constant_(m.bias, self.bias)


@INITIALIZERS.register_module(name='Kaiming')
class KaimingInit(BaseInit):
    def __init__(self, a=0, mode='fan_out', nonlinearity='relu', distribution='normal', bias=0, bias_prob=None,
                 layer=None):
        super().__init__(bias, bias_prob, layer)
        self.a, self.mode, self.nonlinearity, self.distribution = a, mode, nonlinearity, distribution

    def init(self, m):
        if _has_weight(m):
            kaiming_init(m, self.a, self.mode, self.nonlinearity, self.bias, self.distribution)


@INITIALIZERS.register_module(name='Caffe2Xavier')
class Caffe2XavierInit(KaimingInit):
    """Caffe2's ``XavierFill``: kaiming-uniform with ``a=1``, ``fan_in``, ``leaky_relu``."""

    def __init__(self, bias=0, bias_prob=None, layer=None):
        super().__init__(a=1, mode='fan_in', nonlinearity='leaky_relu', distribution='uniform', bias=bias,
                         bias_prob=bias_prob, layer=layer)


@INITIALIZERS.register_module(name='Pretrained')
class PretrainedInit:
    """Load ``checkpoint`` (a path or a pretrained name); with ``prefix`` (``'backbone.'``) only the keys
    under it, the prefix removed.  Loaded non-strictly, as mmcv."""

    def __init__(self, checkpoint, prefix=None, map_location=None):
        self.checkpoint, self.prefix, self.map_location = checkpoint, prefix, map_location
        self.wholemodule = False

    def __call__(self, module):
        from mmdet.runner.checkpoint import load_checkpoint
        where = f'{self.prefix} in model ' if self.prefix else 'model '
        _logger.info(f'load {where}from: {self.checkpoint}')
        load_checkpoint(module, self.checkpoint, map_location=self.map_location or 'cpu', strict=False,
                        logger=_logger, prefix=self.prefix)


def _initialize(module, cfg, wholemodule=False):
    func = build_from_cfg(cfg, INITIALIZERS)
    func.wholemodule = wholemodule  # an override names no layer: the whole named child is initialised
    func(module)


def _initialize_override(module, override, cfg):
    if not isinstance(override, (dict, list)):
        raise TypeError(f'init_cfg override must be a dict or a list of dicts, got {type(override).__name__}')
    for item in [override] if isinstance(override, dict) else override:
        item = copy.deepcopy(dict(item))
        name = item.pop('name', None)
        if name is None:
            raise ValueError(f'init_cfg override must name the child it initialises ("name"), got {item}')
        if not item:  # only a name: the outer init_cfg's arguments apply
            item.update(cfg)
        elif 'type' not in item:
            raise ValueError(f'init_cfg override of {name!r} needs a "type" key, got {item}')
        if not hasattr(module, name):
            raise RuntimeError(f'{type(module).__name__} has no attribute {name!r} (init_cfg override {item})')
        _initialize(getattr(module, name), item, wholemodule=True)


def initialize(module, init_cfg):
    """Initialise ``module`` from ``init_cfg`` (a dict or a list of dicts), as ``mmcv.cnn.initialize``."""
    if not isinstance(init_cfg, (dict, list)):
        raise TypeError(f'init_cfg must be a dict or a list of dicts, got {type(init_cfg).__name__}')
    for cfg in [init_cfg] if isinstance(init_cfg, dict) else init_cfg:
        cfg = copy.deepcopy(dict(cfg))  # one init_cfg may be shared by several modules: never change it
        override = cfg.pop('override', None)
        _initialize(module, cfg)
        if override is not None:
            cfg.pop('layer', None)
            _initialize_override(module, override, cfg)


class BaseModule(nn.Module, metaclass=ABCMeta):
    """mmcv 1.x's base of OpenMMLab modules: ``init_cfg`` and :meth:`init_weights`.

    Args:
        init_cfg (dict | list[dict] | None): how :meth:`init_weights` initialises this module.
    """

    def __init__(self, init_cfg=None):
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self):
        return self._is_init

    def init_weights(self, pretrained=None):
        """Apply ``init_cfg``, then the children's ``init_weights`` (not after a ``Pretrained`` dict)."""
        name = type(self).__name__
        if pretrained is not None:
            if self.init_cfg:
                raise InvalidArgumentError(f'{name}: init_cfg and pretrained cannot be given together')
            self.init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if self._is_init:
            warnings.warn(f'init_weights of {name} has been called more than once.')
            return
        if self.init_cfg:
            _logger.info(f'initialize {name} with init_cfg {self.init_cfg}')
            initialize(self, self.init_cfg)
            if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
                return  # the children must not overwrite the loaded weights
        for m in self.children():
            if hasattr(m, 'init_weights'):
                m.init_weights()
        self._is_init = True

    def __repr__(self):
        s = super().__repr__()
        if self.init_cfg:
            s += f'\ninit_cfg={self.init_cfg}'
        return s


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` with ``init_cfg``."""

    def __init__(self, *args, init_cfg=None):
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` with ``init_cfg``."""

    def __init__(self, modules=None, init_cfg=None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` with ``init_cfg``."""

    def __init__(self, modules=None, init_cfg=None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)


__getattr__ = missing_for('mmcv.runner.base_module')
