"""HRNet (Sun et al. 2019, "High-Resolution Representations for Labeling Pixels and Regions").

HRNetV2 keeps a stride-4 branch through the whole network and adds a branch
of half the resolution at the start of each of stages 2, 3 and 4; inside a
stage, every *HR module* runs residual blocks on each branch and then fuses
the branches (each output branch sums all inputs, brought to its resolution
by 1x1 conv + upsampling or by strided 3x3 convs).

The state-dict layout is 2.x's (``conv1``, ``bn1``, ``conv2``, ``bn2``,
``layer1``, ``transition{1,2,3}``, ``stage{2,3,4}.{k}.branches`` /
``.fuse_layers``), so the ``open-mmlab://msra/hrnetv2_w*`` ImageNet weights and
the original's detection checkpoints load as they are.
"""
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.ops import build_conv_layer, build_norm_layer, constant_init, kaiming_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES
from .resnet import BasicBlock, Bottleneck

STAGE_KEYS = ('num_modules', 'num_branches', 'block', 'num_blocks', 'num_channels')


def _conv_norm(conv_cfg, norm_cfg, in_channels, out_channels, kernel_size, stride=1, relu=False):
    """``Sequential(conv (no bias), norm[, ReLU])``: keys ``0.weight``, ``1.*``."""
    layers = [build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size, stride=stride,
                               padding=(kernel_size - 1) // 2, bias=False),
              build_norm_layer(norm_cfg, out_channels)[1]]
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


def make_layer(block, inplanes, planes, num_blocks, stride=1, with_cp=False, conv_cfg=None,
               norm_cfg=dict(type='BN')):
    """``num_blocks`` blocks in an ``nn.Sequential``; the first gets a 1x1 conv + norm
    shortcut (``0.downsample.{0,1}``) when it changes the width or resolution.

    Shapes: (N, inplanes, H, W) -> (N, planes * block.expansion, H / stride, W / stride).
    """
    out_channels = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out_channels:
        downsample = _conv_norm(conv_cfg, norm_cfg, inplanes, out_channels, 1, stride=stride)
    common = dict(with_cp=with_cp, norm_cfg=norm_cfg, conv_cfg=conv_cfg)
    layers = [block(inplanes, planes, stride, downsample=downsample, **common)]
    layers += [block(out_channels, planes, **common) for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


class HRModule(nn.Module):
    """Parallel branches of residual blocks, then a fusion of all branches into each output branch.

    Branch ``j`` runs at stride ``s * 2^j`` (``s`` of branch 0).  Output branch
    ``i`` is ``relu(sum_j f_ij(x_j))`` with ``f_ii`` the identity, ``f_ij`` for
    ``j > i`` a 1x1 conv + norm followed by nearest upsampling to branch ``i``'s
    size (``fuse_layers[i][j]``, keys ``0.weight``, ``1.*``), and for ``j < i``
    ``i - j`` stride-2 3x3 convs + norm (ReLU between them; keys
    ``{k}.0.weight``, ``{k}.1.*``).  ``fuse_layers[i][i]`` is ``None``.

    Args:
        num_branches (int): number of branches.
        blocks (type): :class:`BasicBlock` or :class:`Bottleneck`.
        num_blocks (Sequence[int]): blocks per branch.
        in_channels (list[int]): input channels per branch (the list is not modified).
        num_channels (Sequence[int]): block ``planes`` per branch.
        multiscale_output (bool): output every branch (True) or only branch 0.
        with_cp (bool), conv_cfg (dict | None), norm_cfg (dict): as in :class:`HRNet`.

    Shapes: list over branches of (N, C_j, H_j, W_j) -> list over output
    branches of (N, num_channels[i] * expansion, H_i, W_i).
    """

    def __init__(self, num_branches, blocks, num_blocks, in_channels, num_channels, multiscale_output=True,
                 with_cp=False, conv_cfg=None, norm_cfg=dict(type='BN')):
        super().__init__()
        for arg, value in (('num_blocks', num_blocks), ('num_channels', num_channels),
                           ('in_channels', in_channels)):
            if len(value) != num_branches:
                raise InvalidArgumentError(f'HRModule has num_branches={num_branches} but {len(value)} '
                                           f'{arg} ({arg}={tuple(value)!r})')
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.with_cp, self.conv_cfg, self.norm_cfg = with_cp, conv_cfg, norm_cfg
        self.branches = nn.ModuleList(
            make_layer(blocks, in_channels[j], num_channels[j], num_blocks[j], with_cp=with_cp, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg)
            for j in range(num_branches))
        # the branches' output widths: what the fusion and the next module see
        self.in_channels = [c * blocks.expansion for c in num_channels]
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=False)

    def _make_fuse_layers(self):
        if self.num_branches == 1:
            return None
        ch = self.in_channels
        fuse_layers = nn.ModuleList()
        for i in range(self.num_branches if self.multiscale_output else 1):
            row = nn.ModuleList()
            for j in range(self.num_branches):
                if j > i:    # lower resolution: 1x1 conv to branch i's width, then upsample (in forward)
                    row.append(_conv_norm(self.conv_cfg, self.norm_cfg, ch[j], ch[i], 1))
                elif j == i:
                    row.append(None)
                else:        # higher resolution: i - j stride-2 3x3 convs, the last one to branch i's width
                    row.append(nn.Sequential(*[
                        _conv_norm(self.conv_cfg, self.norm_cfg, ch[j], ch[i] if k == i - j - 1 else ch[j], 3,
                                   stride=2, relu=k < i - j - 1)
                        for k in range(i - j)]))
            fuse_layers.append(row)
        return fuse_layers

    def forward(self, x):
        """``x``: list over branches of (N, C_j, H_j, W_j); returns a new list."""
        if len(x) != self.num_branches:
            raise InvalidArgumentError(f'HRModule expects {self.num_branches} inputs (one per branch), '
                                       f'got {len(x)}')
        x = [branch(xj) for branch, xj in zip(self.branches, x)]
        if self.num_branches == 1:
            return x
        outs = []
        for i, row in enumerate(self.fuse_layers):
            y = x[i]
            for j, fuse in enumerate(row):
                if j == i:
                    continue
                z = fuse(x[j])
                if j > i:  # nearest upsampling by 2^(j - i) (to branch i's exact size, so odd sizes work)
                    z = F.interpolate(z, size=x[i].shape[-2:], mode='nearest')
                y = y + z
            outs.append(self.relu(y))
        return outs


@BACKBONES.register_module()
class HRNet(nn.Module):
    """HRNetV2 backbone: the outputs of all branches of stage 4 (strides 4, 8, 16, 32).

    Args:
        extra (dict): ``stage1`` ... ``stage4``, each a dict with
            ``num_modules``, ``num_branches``, ``block`` (``'BASIC'`` or
            ``'BOTTLENECK'``), ``num_blocks`` and ``num_channels`` (one entry
            per branch).  HRNetV2p-W32: stage1 = 1 module, 1 branch,
            BOTTLENECK, (4,), (64,); stage2/3/4 = 1/4/3 modules of 2/3/4 BASIC
            branches with 4 blocks each and widths (32, 64), (32, 64, 128),
            (32, 64, 128, 256).  W18 / W40 use 18 / 40 instead of 32 (doubling).
        in_channels (int): image channels. Default 3.
        conv_cfg (dict | None), norm_cfg (dict): conv and norm layers. Default BN.
        norm_eval (bool): keep BN layers in eval mode while training. Default True.
        with_cp (bool): gradient checkpointing in the blocks.
        zero_init_residual (bool): zero-init each block's last norm. Default False.
        pretrained (str | None), init_cfg (dict | None): weights for :meth:`init_weights`.

    Only stage 1's ``num_channels[0]`` and ``num_blocks[0]`` are used (one
    branch, one module), as in 2.x.

    Shapes: (N, in_channels, H, W) -> list of (N, stage4 width_j, H / 2^(j+2), W / 2^(j+2)), j = 0..3.
    """

    blocks_dict = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}

    def __init__(self, extra, in_channels=3, conv_cfg=None, norm_cfg=dict(type='BN'), norm_eval=True,
                 with_cp=False, zero_init_residual=False, pretrained=None, init_cfg=None):
        super().__init__()
        self._check_extra(extra)
        self.extra = extra
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.zero_init_residual = zero_init_residual
        self.pretrained = pretrained if pretrained is not None else (init_cfg or {}).get('checkpoint')

        # stem: two 3x3 stride-2 convs (stride 4)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, 64, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, 64, 64, 3, stride=2, padding=1, bias=False)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, 64, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        # stage 1: one branch of residual blocks
        self.stage1_cfg = extra['stage1']
        block = self.blocks_dict[self.stage1_cfg['block']]
        planes = self.stage1_cfg['num_channels'][0]
        self.layer1 = make_layer(block, 64, planes, self.stage1_cfg['num_blocks'][0], with_cp=with_cp,
                                 conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        pre_channels = [planes * block.expansion]

        # stages 2-4: a transition (new branch, width changes), then the HR modules
        for s in (2, 3, 4):
            cfg = extra[f'stage{s}']
            setattr(self, f'stage{s}_cfg', cfg)
            block = self.blocks_dict[cfg['block']]
            channels = [c * block.expansion for c in cfg['num_channels']]
            setattr(self, f'transition{s - 1}', self._make_transition_layer(pre_channels, channels))
            stage, pre_channels = self._make_stage(cfg, channels)
            setattr(self, f'stage{s}', stage)

    @staticmethod
    def _check_extra(extra):
        if not isinstance(extra, dict):
            raise InvalidArgumentError(f'HRNet extra must be a dict with stage1 ... stage4, got {extra!r}')
        for s in range(1, 5):
            cfg = extra.get(f'stage{s}')
            if not isinstance(cfg, dict):
                raise InvalidArgumentError(f'HRNet extra needs a dict stage{s}, got extra keys {sorted(extra)}')
            missing = [k for k in STAGE_KEYS if k not in cfg]
            if missing:
                raise InvalidArgumentError(f'HRNet extra.stage{s} misses {missing}, got {cfg!r}')
            if cfg['block'] not in HRNet.blocks_dict:
                raise InvalidArgumentError(f"HRNet extra.stage{s}.block must be one of "
                                           f"{sorted(HRNet.blocks_dict)}, got {cfg['block']!r}")
            for k in ('num_blocks', 'num_channels'):
                if len(cfg[k]) != cfg['num_branches']:
                    raise InvalidArgumentError(f"HRNet extra.stage{s} has num_branches={cfg['num_branches']} "
                                               f"but {k}={tuple(cfg[k])!r}")

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    def _make_transition_layer(self, pre_channels, cur_channels):
        """Per new-stage branch ``i``: ``None`` (same width), a 3x3 conv + norm + ReLU
        (width change, ``i.{0,1}``), or for a new branch stride-2 3x3 convs from the
        last old branch (``i.{k}.{0,1}``)."""
        layers = nn.ModuleList()
        num_pre = len(pre_channels)
        for i, c in enumerate(cur_channels):
            if i < num_pre:
                layers.append(None if c == pre_channels[i] else nn.Sequential(
                    build_conv_layer(self.conv_cfg, pre_channels[i], c, 3, stride=1, padding=1, bias=False),
                    build_norm_layer(self.norm_cfg, c)[1], nn.ReLU(inplace=True)))
            else:
                last = pre_channels[-1]
                layers.append(nn.Sequential(*[
                    nn.Sequential(
                        build_conv_layer(self.conv_cfg, last, c if k == i - num_pre else last, 3, stride=2,
                                         padding=1, bias=False),
                        build_norm_layer(self.norm_cfg, c if k == i - num_pre else last)[1],
                        nn.ReLU(inplace=True))
                    for k in range(i + 1 - num_pre)]))
        return layers

    def _make_stage(self, cfg, in_channels, multiscale_output=True):
        """``cfg['num_modules']`` HR modules in an ``nn.Sequential``; returns it and its output widths."""
        block = self.blocks_dict[cfg['block']]
        modules = []
        for k in range(cfg['num_modules']):
            module = HRModule(cfg['num_branches'], block, cfg['num_blocks'], in_channels, cfg['num_channels'],
                              multiscale_output or k < cfg['num_modules'] - 1, with_cp=self.with_cp,
                              norm_cfg=self.norm_cfg, conv_cfg=self.conv_cfg)
            in_channels = module.in_channels
            modules.append(module)
        return nn.Sequential(*modules), in_channels

    def init_weights(self, pretrained=None):
        """Load ``pretrained`` (a path or ``open-mmlab://`` name, non-strict), or
        kaiming-init the convs, set norms to 1/0 (and the blocks' last norms to 0
        with ``zero_init_residual``)."""
        pretrained = pretrained if pretrained is not None else self.pretrained
        if isinstance(pretrained, dict):  # init_cfg=dict(type='Pretrained', checkpoint=...)
            pretrained = pretrained.get('checkpoint')
        if isinstance(pretrained, str):
            from mmdet.runner.checkpoint import load_checkpoint
            from mmdet.utils import get_root_logger
            load_checkpoint(self, pretrained, strict=False, logger=get_root_logger())
            return
        if pretrained is not None:
            raise TypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m)
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                constant_init(m, 1)
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(getattr(m, m.norm3_name), 0)
                elif isinstance(m, BasicBlock):
                    constant_init(getattr(m, m.norm2_name), 0)

    @staticmethod
    def _transition(layers, y_list, num_branches):
        """Inputs of the next stage: branch ``i`` from ``y_list[i]`` (through its layer
        unless ``None``); a new branch from the last, lowest-resolution output."""
        return [y_list[i] if layers[i] is None else layers[i](y_list[min(i, len(y_list) - 1)])
                for i in range(num_branches)]

    def forward(self, x):
        """(N, C, H, W) -> list of the 4 stage-4 branch outputs, highest resolution first."""
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        y_list = [self.layer1(x)]
        for s in (2, 3, 4):
            cfg = getattr(self, f'stage{s}_cfg')
            x_list = self._transition(getattr(self, f'transition{s - 1}'), y_list, cfg['num_branches'])
            y_list = getattr(self, f'stage{s}')(x_list)
        return y_list

    def train(self, mode=True):
        """Train mode, with BN layers kept in eval mode when ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
