"""RegNetX (Radosavovic et al. 2020, "Designing Network Design Spaces") with the MMDetection-2.x layout.

A RegNetX is a ResNeXt-style network whose per-stage widths and depths come
from four numbers (``w0``, ``wa``, ``wm``, ``depth``) and a group width:

1. block ``j`` (of ``depth``) gets the continuous width ``u_j = w0 + wa * j``;
2. it is quantised to ``w0 * wm ** round(log(u_j / w0) / log(wm))``, rounded
   to a multiple of 8;
3. consecutive blocks of equal width form a stage;
4. each stage width is made a multiple of its group width.

The blocks are this toolbox's ResNet :class:`Bottleneck` with grouped 3x3
convs and no channel expansion; the stem is one 3x3 stride-2 conv (no max
pool), so the four stages have strides 4, 8, 16 and 32.  State-dict keys are
2.x's (``conv1``, ``bn1``, ``layer{i}.{j}.conv1/bn1/conv2/bn2/conv3/bn3``,
``layer{i}.0.downsample.{0,1}``), so pycls-converted ``open-mmlab://regnetx_*``
weights load as they are.
"""
import numpy as np
import torch.nn as nn

from mmdet.ops import build_conv_layer, build_norm_layer
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES
from .resnet import Bottleneck, ResNet, check_dcn, check_style, is_int, make_res_layer

ARCH_KEYS = ('w0', 'wa', 'wm', 'group_w', 'depth', 'bot_mul')


class RegNetBottleneck(Bottleneck):
    """The ResNet :class:`Bottleneck` without the 4x expansion: ``planes`` in, ``planes`` out.

    With ``groups > 1`` the 3x3 conv has ``groups * (planes * base_width //
    base_channels)`` channels, i.e. ``groups`` groups of ``base_width``
    (RegNet passes ``base_width = group_w`` and ``base_channels = planes``).
    """
    expansion = 1


# ----------------------------------------------------------------- the width / depth rules (pycls)
def generate_regnet(initial_width, width_slope, width_parameter, depth, divisor=8):
    """Per-block widths of a RegNet.

    Args:
        initial_width (int): ``w0``, a positive multiple of ``divisor``.
        width_slope (float): ``wa >= 0``, the slope of the linear widths.
        width_parameter (float): ``wm > 1``, the quantisation base.
        depth (int): number of blocks.
        divisor (int): widths are multiples of it. Default 8.

    Returns:
        tuple[list[int], int]: ``depth`` block widths and the number of distinct
        widths (stages).
    """
    if not width_slope >= 0:
        raise InvalidArgumentError(f'RegNet arch wa (width slope) must be >= 0, got {width_slope!r}')
    if not initial_width > 0 or initial_width % divisor:
        raise InvalidArgumentError(f'RegNet arch w0 (initial width) must be a positive multiple of {divisor}, '
                                   f'got {initial_width!r}')
    if not width_parameter > 1:
        raise InvalidArgumentError(f'RegNet arch wm (width multiplier) must be > 1, got {width_parameter!r}')
    widths_cont = np.arange(depth) * width_slope + initial_width
    ks = np.round(np.log(widths_cont / initial_width) / np.log(width_parameter))
    widths = initial_width * np.power(width_parameter, ks)
    widths = np.round(np.divide(widths, divisor)) * divisor
    return widths.astype(int).tolist(), len(np.unique(widths))


def get_stages_from_blocks(widths):
    """Group runs of equal block widths into stages.

    Args:
        widths (list[int]): per-block widths, e.g. ``[32, 64, 64, 160]``.

    Returns:
        tuple[list[int], list[int]]: stage widths and blocks per stage, e.g.
        ``([32, 64, 160], [1, 2, 1])``.
    """
    starts = [i for i, w in enumerate(widths) if i == 0 or w != widths[i - 1]]
    stage_widths = [widths[i] for i in starts]
    stage_blocks = np.diff(starts + [len(widths)]).tolist()
    return stage_widths, stage_blocks


def quantize_float(number, divisor):
    """The multiple of ``divisor`` closest to ``number`` (an int)."""
    return int(round(number / divisor) * divisor)


def adjust_width_group(widths, bottleneck_ratio, groups):
    """Make every stage's bottleneck width a multiple of its group width.

    Args:
        widths (list[int]): stage widths.
        bottleneck_ratio (list[float]): per stage, bottleneck width / stage width.
        groups (list[int]): per stage, the group width (channels per group).

    Returns:
        tuple[list[int], list[int]]: the adjusted stage widths and group widths
        (a group width is capped at its bottleneck width).
    """
    bottleneck_width = [int(w * b) for w, b in zip(widths, bottleneck_ratio)]
    groups = [min(g, w_bot) for g, w_bot in zip(groups, bottleneck_width)]
    bottleneck_width = [quantize_float(w_bot, g) for w_bot, g in zip(bottleneck_width, groups)]
    widths = [int(w_bot / b) for w_bot, b in zip(bottleneck_width, bottleneck_ratio)]
    return widths, groups


def regnet_stages(arch):
    """Stage widths, blocks per stage, group widths and bottleneck ratios of an ``arch`` dict.

    Args:
        arch (dict): ``w0``, ``wa``, ``wm``, ``group_w``, ``depth``, ``bot_mul``
            (the values of :attr:`RegNet.arch_settings`).

    Returns:
        dict: ``widths``, ``blocks``, ``group_widths``, ``bottleneck_ratios``
        (lists, one entry per stage).
    """
    missing = [k for k in ARCH_KEYS if k not in arch]
    if missing:
        raise InvalidArgumentError(f'RegNet arch dict misses {missing} (needs {list(ARCH_KEYS)}), got {arch!r}')
    widths, num_stages = generate_regnet(arch['w0'], arch['wa'], arch['wm'], arch['depth'])
    stage_widths, stage_blocks = get_stages_from_blocks(widths)
    group_widths = [arch['group_w']] * num_stages
    ratios = [arch['bot_mul']] * num_stages
    stage_widths, group_widths = adjust_width_group(stage_widths, ratios, group_widths)
    return dict(widths=stage_widths, blocks=stage_blocks, group_widths=group_widths, bottleneck_ratios=ratios)


@BACKBONES.register_module()
class RegNet(ResNet):
    """RegNetX backbone; returns the outputs of stages ``out_indices``.

    Args:
        arch (str | dict): a name of :attr:`arch_settings` (``'regnetx_400mf'``
            ... ``'regnetx_12gf'``) or a dict with the keys ``w0``, ``wa``,
            ``wm``, ``group_w``, ``depth``, ``bot_mul``.
        in_channels (int): image channels. Default 3.
        stem_channels (int): channels of the 3x3 stride-2 stem conv. Default 32.
        base_channels (int): kept for 2.x compatibility (unused, as in 2.x).
        strides (Sequence[int]): stride of each stage's first block. Default (2, 2, 2, 2).
        dilations (Sequence[int]): dilation of each stage. Default (1, 1, 1, 1).
        out_indices (Sequence[int]): stages to return. Default (0, 1, 2, 3).
        style (str): ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'`` (on the first 1x1).
        deep_stem (bool): must be False (2.x accepted it but its RegNet stem ignores it).
        avg_down (bool): average-pool shortcut downsampling (ResNet-D).
        frozen_stages (int): freeze the stem and the first ``frozen_stages``
            stages (parameters and BN statistics); -1 freezes nothing.
        conv_cfg (dict | None), norm_cfg (dict): conv and norm layers.
        norm_eval (bool): keep BN layers in eval mode while training. Default True.
        dcn (dict | None), stage_with_dcn (Sequence[bool]): deformable 3x3 convs in the chosen stages.
        plugins: not supported (must be None).
        with_cp (bool): gradient checkpointing in the blocks.
        zero_init_residual (bool): zero-init each block's last BN. Default True.

    Shapes: (N, in_channels, H, W) -> per stage ``i`` in ``out_indices``
    (N, ``stage_widths[i]``, H / 2^(i+2), W / 2^(i+2)) (rounded up).

    Example:
        >>> m = RegNet('regnetx_400mf').eval()
        >>> [tuple(o.shape) for o in m(torch.rand(1, 3, 64, 64))]
        [(1, 32, 16, 16), (1, 64, 8, 8), (1, 160, 4, 4), (1, 384, 2, 2)]
    """

    arch_settings = {
        'regnetx_400mf': dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=1.0),
        'regnetx_800mf': dict(w0=56, wa=35.73, wm=2.28, group_w=16, depth=16, bot_mul=1.0),
        'regnetx_1.6gf': dict(w0=80, wa=34.01, wm=2.25, group_w=24, depth=18, bot_mul=1.0),
        'regnetx_3.2gf': dict(w0=88, wa=26.31, wm=2.25, group_w=48, depth=25, bot_mul=1.0),
        'regnetx_4.0gf': dict(w0=96, wa=38.65, wm=2.43, group_w=40, depth=23, bot_mul=1.0),
        'regnetx_6.4gf': dict(w0=184, wa=60.83, wm=2.07, group_w=56, depth=17, bot_mul=1.0),
        'regnetx_8.0gf': dict(w0=80, wa=49.56, wm=2.88, group_w=120, depth=23, bot_mul=1.0),
        'regnetx_12gf': dict(w0=168, wa=73.36, wm=2.37, group_w=112, depth=19, bot_mul=1.0),
    }

    # the width rules, also reachable as methods (2.x had them on the class)
    generate_regnet = staticmethod(generate_regnet)
    get_stages_from_blocks = staticmethod(get_stages_from_blocks)
    quantize_float = staticmethod(quantize_float)
    adjust_width_group = staticmethod(adjust_width_group)

    def __init__(self, arch, in_channels=3, stem_channels=32, base_channels=32, strides=(2, 2, 2, 2),
                 dilations=(1, 1, 1, 1), out_indices=(0, 1, 2, 3), style='pytorch', deep_stem=False,
                 avg_down=False, frozen_stages=-1, conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval=True, dcn=None, stage_with_dcn=(False, False, False, False), plugins=None,
                 with_cp=False, zero_init_residual=True, pretrained=None, init_cfg=None):
        # ResNet.__init__ builds depth-indexed stages; a RegNet computes its own, so only nn.Module's
        # __init__ runs here.  What RegNet takes from ResNet: _freeze_stages, train (norm_eval),
        # init_weights (pretrained / kaiming + zero-init residual) and the norm1 property.
        nn.Module.__init__(self)
        name = type(self).__name__
        arch = self._arch_dict(arch)
        stages = regnet_stages(arch)
        num_stages = len(stages['widths'])
        if not 1 <= num_stages <= 4:
            raise InvalidArgumentError(f'{name} arch {arch!r} gives {num_stages} stages; 1 to 4 are supported')
        # 2.x asserts len(strides) == len(dilations) == num_stages; as this toolbox's ResNet, an arch of
        # fewer stages may keep the default 4-stage strides/dilations (only the first num_stages are used)
        for arg, value in (('strides', strides), ('dilations', dilations)):
            if not (isinstance(value, (list, tuple)) and len(value) >= num_stages
                    and all(is_int(v) and v > 0 for v in value)):
                raise InvalidArgumentError(f'{name} {arg} must be at least {num_stages} positive ints (one per '
                                           f'stage of arch {arch!r}), got {value!r}')
        if len(strides) != len(dilations):
            raise InvalidArgumentError(f'{name} strides and dilations need one entry per stage, got '
                                       f'strides={strides!r} and dilations={dilations!r}')
        if not (isinstance(out_indices, (list, tuple)) and out_indices
                and all(is_int(i) and 0 <= i < num_stages for i in out_indices)):
            raise InvalidArgumentError(f'{name} out_indices must be a non-empty list/tuple of stage indices in '
                                       f'[0, {num_stages}), got {out_indices!r}')
        check_style(name, style)
        if deep_stem:
            raise InvalidArgumentError(f'{name} has a single 3x3 conv stem; deep_stem=True is not supported')
        if plugins:
            raise InvalidArgumentError(f'{name} plugins are not supported, got plugins={plugins!r}')
        if not (is_int(frozen_stages) and -1 <= frozen_stages <= num_stages):
            raise InvalidArgumentError(f'{name} frozen_stages must be an int in [-1, {num_stages}], '
                                       f'got {frozen_stages!r}')
        if dcn is not None:
            check_dcn(name, dcn, None)
            if not isinstance(stage_with_dcn, (list, tuple)) or len(stage_with_dcn) < num_stages:
                raise InvalidArgumentError(f'{name} stage_with_dcn must have one flag per stage '
                                           f'({num_stages}), got {stage_with_dcn!r}')

        self.arch = arch
        self.stage_widths, self.group_widths = stages['widths'], stages['group_widths']
        self.bottleneck_ratio = stages['bottleneck_ratios']
        self.stage_blocks = stages['blocks']
        self.depth, self.num_stages = sum(self.stage_blocks), num_stages
        self.stem_channels, self.base_channels = stem_channels, base_channels
        self.strides, self.dilations = strides, dilations
        self.out_indices, self.style = out_indices, style
        self.deep_stem, self.avg_down = False, avg_down
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.with_cp, self.dcn, self.stage_with_dcn = with_cp, dcn, stage_with_dcn
        self.plugins = None
        self.zero_init_residual = zero_init_residual
        self.pretrained = pretrained if pretrained is not None else (init_cfg or {}).get('checkpoint')
        self.block = RegNetBottleneck

        self._make_stem_layer(in_channels, stem_channels)
        self.inplanes = stem_channels
        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            width, group_width = self.stage_widths[i], self.group_widths[i]
            bottleneck_width = int(round(width * self.bottleneck_ratio[i]))
            res_layer = make_res_layer(
                block=self.block, inplanes=self.inplanes, planes=width, num_blocks=num_blocks,
                stride=strides[i], dilation=dilations[i], avg_down=avg_down, style=style, with_cp=with_cp,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, dcn=dcn if dcn is not None and stage_with_dcn[i] else None,
                groups=bottleneck_width // group_width, base_width=group_width, base_channels=width)
            self.inplanes = width
            layer_name = f'layer{i + 1}'
            self.add_module(layer_name, res_layer)
            self.res_layers.append(layer_name)
        self.feat_dim = self.stage_widths[-1]
        self._freeze_stages()

    @classmethod
    def _arch_dict(cls, arch):
        if isinstance(arch, str):
            if arch not in cls.arch_settings:
                raise InvalidArgumentError(f'{cls.__name__} arch {arch!r} is not one of the arch_settings '
                                           f'{sorted(cls.arch_settings)}')
            return dict(cls.arch_settings[arch])
        if isinstance(arch, dict):
            return dict(arch)
        raise InvalidArgumentError(f'{cls.__name__} arch must be a str (one of {sorted(cls.arch_settings)}) or a '
                                   f'dict, got {type(arch).__name__}')

    def _make_stem_layer(self, in_channels, stem_channels):
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 3, stride=2, padding=1,
                                      bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        """(N, C, H, W) -> tuple of the ``out_indices`` stage outputs."""
        x = self.relu(self.norm1(self.conv1(x)))
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
