"""Layer-wise learning-rate decay for timm ConvNeXt and Swin backbones.

``optimizer = dict(type='AdamW', lr=1e-4, weight_decay=0.05,
constructor='LayerDecayOptimizerConstructor', paramwise_cfg=dict(decay_rate=0.7))``

Each backbone parameter gets a layer id (0 for the stem, ``num_layers`` for the
last stage); everything outside the backbone gets ``num_layers + 1``.  A
parameter's learning rate is::

    lr = base_lr * decay_rate ** (num_layers + 1 - layer_id)

so the neck and head train at ``base_lr`` and the stem at ``decay_rate **
(num_layers + 1)`` of it.  As the ConvNeXt and Swin detection recipes,
1-D parameters (norm weights, biases, layer scales) and position embeddings /
relative position tables get no weight decay.

Layer ids (names inside :class:`mmdet.models.backbones.timm_backbone.TIMMBackbone`'s
``timm_model``; ``stages_2`` and ``stages.2`` alike):

* ConvNeXt (ConvNeXt's own rule): ``stem`` 0; ``stages.0`` 1; ``stages.1`` 2;
  ``stages.2.downsample`` 3, ``stages.2.blocks.b`` ``3 + b // 3``; ``stages.3`` and
  the rest of the backbone ``num_layers``. Natural ``num_layers``: ``3 + ceil(depth_2 / 3)``
  (6 for ConvNeXt-T, 12 for -S/-B/-L).
* Swin (one id per block, SimMIM's rule): ``patch_embed`` / ``absolute_pos_embed`` 0;
  ``layers.s.blocks.b`` ``sum(depths[:s]) + b + 1``; ``layers.s.downsample`` (the patch
  merging that ends stage ``s - 1``) ``sum(depths[:s])``; the rest ``num_layers``.
  Natural ``num_layers``: ``sum(depths)`` (12 for Swin-T).
"""
import math
import re

from mmdet.utils.errors import InvalidArgumentError

from .optimizer import OPTIMIZER_BUILDERS, DefaultOptimizerConstructor

NO_DECAY_NAMES = ('absolute_pos_embed', 'relative_position_bias_table', 'pos_embed', 'cls_token', 'mask_token')

_CONVNEXT_BLOCK = re.compile(r'^stages[._](\d+)\.blocks\.(\d+)\.')
_CONVNEXT_DOWN = re.compile(r'^stages[._](\d+)\.downsample\.')
_SWIN_BLOCK = re.compile(r'^layers[._](\d+)\.blocks\.(\d+)\.')
_SWIN_DOWN = re.compile(r'^layers[._](\d+)\.downsample\.')


def backbone_family(backbone):
    """``'convnext'`` or ``'swin'`` for a TIMMBackbone of that family; raises otherwise."""
    name = getattr(backbone, 'model_name', None)
    if type(backbone).__name__ != 'TIMMBackbone' or name is None:
        raise InvalidArgumentError(
            f'LayerDecayOptimizerConstructor needs model.backbone to be a TIMMBackbone (ConvNeXt or Swin), got '
            f'{type(backbone).__name__}')
    arch = name.split('.', 1)[0].lower()
    if arch.startswith('convnext'):
        return 'convnext'
    if arch.startswith('swin') and not arch.startswith('swinv2_cr'):
        return 'swin'
    raise InvalidArgumentError(f"LayerDecayOptimizerConstructor knows timm ConvNeXt and Swin models, got model_name="
                               f"'{name}'")


def stage_depths(names, pattern):
    """Blocks per stage, from parameter names (``{stage: number of blocks}``)."""
    depths = {}
    for n in names:
        m = pattern.match(n)
        if m:
            s, b = int(m.group(1)), int(m.group(2))
            depths[s] = max(depths.get(s, 0), b + 1)
    return [depths.get(s, 0) for s in range(max(depths) + 1)] if depths else []


def natural_num_layers(family, depths):
    if family == 'convnext':
        return 3 + math.ceil(depths[2] / 3) if len(depths) > 2 else len(depths)
    return sum(depths)


def layer_id(family, name, num_layers, depths):
    """The layer id of backbone parameter ``name`` (relative to ``timm_model``)."""
    if family == 'convnext':
        if name.startswith(('stem.', 'stem_')):
            return 0
        m = _CONVNEXT_DOWN.match(name) or _CONVNEXT_BLOCK.match(name)
        if m is None:
            return num_layers
        stage = int(m.group(1))
        if stage == 0:
            return 0 if m.re is _CONVNEXT_DOWN else 1
        if stage == 1:
            return 2
        if stage == 2:
            return 3 if m.re is _CONVNEXT_DOWN else 3 + int(m.group(2)) // 3
        return num_layers
    if name.startswith(('patch_embed.', 'absolute_pos_embed')):
        return 0
    m = _SWIN_BLOCK.match(name)
    if m:
        return sum(depths[:int(m.group(1))]) + int(m.group(2)) + 1
    m = _SWIN_DOWN.match(name)
    if m:
        return sum(depths[:int(m.group(1))])
    return num_layers


@OPTIMIZER_BUILDERS.register_module()
class LayerDecayOptimizerConstructor(DefaultOptimizerConstructor):
    """Parameter groups with layer-wise decayed learning rates (see the module docstring).

    ``paramwise_cfg``:
        decay_rate (float): the lr ratio between consecutive layers, in (0, 1]. Required.
        num_layers (int, optional): the id of the last backbone layer; defaults to the
            backbone's natural count (ConvNeXt-T 6, Swin-T 12). A smaller value than the
            backbone needs raises.

    Each group holds one parameter with ``lr``, ``weight_decay`` and, for inspection,
    ``layer_id``, ``lr_scale`` and ``param_name``.
    """

    def __init__(self, optimizer_cfg, paramwise_cfg=None):
        super().__init__(optimizer_cfg, paramwise_cfg)
        cfg = dict(self.paramwise_cfg)
        if 'decay_rate' not in cfg:
            raise KeyError('LayerDecayOptimizerConstructor needs paramwise_cfg.decay_rate (e.g. 0.7)')
        self.decay_rate = cfg.pop('decay_rate')
        self.num_layers = cfg.pop('num_layers', None)
        if cfg:
            raise KeyError(f'LayerDecayOptimizerConstructor: unknown paramwise_cfg keys {sorted(cfg)} '
                           f'(known: decay_rate, num_layers)')
        if not (isinstance(self.decay_rate, (int, float)) and 0 < self.decay_rate <= 1):
            raise InvalidArgumentError(f'LayerDecayOptimizerConstructor decay_rate must be in (0, 1], '
                                       f'got {self.decay_rate!r}')
        if self.num_layers is not None and not (isinstance(self.num_layers, int) and self.num_layers > 0):
            raise InvalidArgumentError(f'LayerDecayOptimizerConstructor num_layers must be a positive int, '
                                       f'got {self.num_layers!r}')

    def add_params(self, params, module):
        backbone = getattr(module, 'backbone', None)
        if backbone is None:
            raise InvalidArgumentError(f'LayerDecayOptimizerConstructor needs a model with a backbone, got '
                                       f'{type(module).__name__}')
        family = backbone_family(backbone)
        prefix = 'backbone.timm_model.'
        names = [n[len(prefix):] for n, _ in module.named_parameters() if n.startswith(prefix)]
        depths = stage_depths(names, _CONVNEXT_BLOCK if family == 'convnext' else _SWIN_BLOCK)
        needed = natural_num_layers(family, depths)
        num_layers = needed if self.num_layers is None else self.num_layers
        if num_layers < needed:
            raise InvalidArgumentError(
                f"LayerDecayOptimizerConstructor: '{backbone.model_name}' (stage depths {depths}) needs "
                f'num_layers >= {needed}, got num_layers={num_layers}')
        for name, p in module.named_parameters():
            group = {'params': [p], 'param_name': name}
            if not p.requires_grad:
                params.append(group)
                continue
            lid = layer_id(family, name[len(prefix):], num_layers, depths) if name.startswith(prefix) \
                else num_layers + 1
            scale = self.decay_rate ** (num_layers + 1 - lid)
            no_decay = p.ndim == 1 or name.endswith('.bias') or name.rsplit('.', 1)[-1] in NO_DECAY_NAMES
            group.update(layer_id=lid, lr_scale=scale, lr=self.base_lr * scale)
            if self.base_wd is not None:
                group['weight_decay'] = 0. if no_decay else self.base_wd
            params.append(group)
