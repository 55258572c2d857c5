"""Balanced Feature Pyramid (Libra R-CNN, Pang et al., CVPR 2019), as MMDetection 2.x's,
with the non-local refinement block it uses (mmcv 1.2's ``NonLocal2d``, same module names).

BFP takes ``num_levels`` maps of equal channels and

1. gathers them at the size of level ``refine_level`` (adaptive max-pooling of
   the larger levels, nearest upsampling of the smaller) and averages them into
   one balanced semantic feature;
2. refines it (``refine_type``: None, ``'conv'`` a 3x3 ConvModule, or
   ``'non_local'`` an embedded-Gaussian :class:`NonLocal2d` without scaling);
3. scatters it back to every level's size (the reverse resizing) and adds it
   to that level's input.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet.ops import ConvModule, constant_init, normal_init, xavier_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import NECKS


class NonLocal2d(nn.Module):
    """Non-local block (Wang et al., CVPR 2018) on (N, C, H, W), as mmcv 1.2's ``NonLocal2d``.

    ``y = x + conv_out(softmax(theta(x)^T phi(x)) g(x))`` over the H*W positions
    (``embedded_gaussian``; divided by sqrt(inter_channels) when
    ``use_scale``), or with the pairwise weight ``theta^T phi / (H'W')``
    (``dot_product``).  ``g``, ``theta``, ``phi``: 1x1 ConvModules to
    ``in_channels // reduction`` channels (no norm, no activation);
    ``conv_out``: 1x1 back to ``in_channels`` with ``norm_cfg``, zero-initialised
    (its norm when it has one) so the block starts as the identity.
    ``sub_sample``: 2x2 max-pool after ``g`` and ``phi``.

    Args:
        in_channels (int), reduction (int), use_scale (bool),
        conv_cfg (dict | None), norm_cfg (dict | None),
        mode (str): 'embedded_gaussian' or 'dot_product',
        sub_sample (bool),
        std (float), zeros_init (bool): the initialisation.
    """

    def __init__(self, in_channels, reduction=2, use_scale=True, conv_cfg=None, norm_cfg=None,
                 mode='embedded_gaussian', sub_sample=False, std=0.01, zeros_init=True):
        super().__init__()
        if mode not in ('embedded_gaussian', 'dot_product'):
            raise InvalidArgumentError(f"NonLocal2d mode must be 'embedded_gaussian' or 'dot_product', got {mode!r}")
        if not (isinstance(reduction, int) and 0 < reduction <= in_channels):
            raise InvalidArgumentError(f'NonLocal2d reduction must be an int in [1, in_channels={in_channels}], '
                                       f'got {reduction!r}')
        self.in_channels, self.reduction, self.use_scale, self.mode = in_channels, reduction, use_scale, mode
        self.inter_channels = in_channels // reduction
        self.sub_sample = sub_sample

        def conv1x1(cin, cout, norm=None):
            return ConvModule(cin, cout, 1, conv_cfg=conv_cfg, norm_cfg=norm, act_cfg=None)
        self.g = conv1x1(in_channels, self.inter_channels)
        self.theta = conv1x1(in_channels, self.inter_channels)
        self.phi = conv1x1(in_channels, self.inter_channels)
        self.conv_out = conv1x1(self.inter_channels, in_channels, norm_cfg)
        self.init_weights(std, zeros_init)
        if sub_sample:
            self.g = nn.Sequential(self.g, nn.MaxPool2d(kernel_size=(2, 2)))
            self.phi = nn.Sequential(self.phi, nn.MaxPool2d(kernel_size=(2, 2)))

    def init_weights(self, std=0.01, zeros_init=True):
        for m in (self.g, self.theta, self.phi):
            normal_init(m.conv, std=std)
        last = self.conv_out.norm if self.conv_out.with_norm else self.conv_out.conv
        if zeros_init:
            constant_init(last, 0)
        else:
            normal_init(last, std=std)

    def pairwise(self, theta_x, phi_x):
        """(N, HW, C') x (N, C', H'W') -> (N, HW, H'W') attention weights."""
        w = torch.matmul(theta_x, phi_x)
        if self.mode == 'dot_product':
            return w / w.shape[-1]
        if self.use_scale:
            w = w / theta_x.shape[-1] ** 0.5
        return w.softmax(dim=-1)

    def forward(self, x):
        n, _, h, w = x.shape
        g_x = self.g(x).reshape(n, self.inter_channels, -1).permute(0, 2, 1)  # (N, H'W', C')
        theta_x = self.theta(x).reshape(n, self.inter_channels, -1).permute(0, 2, 1)  # (N, HW, C')
        phi_x = self.phi(x).reshape(n, self.inter_channels, -1)  # (N, C', H'W')
        y = torch.matmul(self.pairwise(theta_x, phi_x), g_x)  # (N, HW, C')
        y = y.permute(0, 2, 1).reshape(n, self.inter_channels, h, w)
        return x + self.conv_out(y)


@NECKS.register_module()
class BFP(nn.Module):
    """Balanced Feature Pyramid.

    Args:
        in_channels (int): channels of every input level (all equal).
        num_levels (int): number of input levels.
        refine_level (int): the level whose size the features are gathered at, in [0, num_levels).
        refine_type (str | None): None, 'conv' or 'non_local'.
        conv_cfg (dict | None), norm_cfg (dict | None): of the refine block.

    Forward: ``num_levels`` maps (N, in_channels, H_l, W_l) -> a tuple of the
    same shapes.
    """

    def __init__(self, in_channels, num_levels, refine_level=2, refine_type=None, conv_cfg=None, norm_cfg=None,
                 init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if refine_type not in (None, 'conv', 'non_local'):
            raise InvalidArgumentError(f"{name} refine_type must be None, 'conv' or 'non_local', got {refine_type!r}")
        if not (isinstance(num_levels, int) and num_levels > 0):
            raise InvalidArgumentError(f'{name} num_levels must be a positive int, got {num_levels!r}')
        if not (isinstance(refine_level, int) and 0 <= refine_level < num_levels):
            raise InvalidArgumentError(f'{name} refine_level must be an int in [0, num_levels={num_levels}), '
                                       f'got {refine_level!r}')
        self.in_channels, self.num_levels = in_channels, num_levels
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.refine_level, self.refine_type = refine_level, refine_type
        if refine_type == 'conv':
            self.refine = ConvModule(in_channels, in_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        elif refine_type == 'non_local':
            self.refine = NonLocal2d(in_channels, reduction=1, use_scale=False, conv_cfg=conv_cfg,
                                     norm_cfg=norm_cfg)

    def init_weights(self):
        """Xavier (uniform) on every conv, the non-local block's too (as 2.x; its zero-init norm is kept)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                xavier_init(m, distribution='uniform')

    def forward(self, inputs):
        if len(inputs) != self.num_levels:
            raise InvalidArgumentError(f'BFP expects num_levels={self.num_levels} inputs, got {len(inputs)}')
        size = inputs[self.refine_level].shape[2:]
        gathered = [F.adaptive_max_pool2d(x, output_size=size) if i < self.refine_level
                    else F.interpolate(x, size=size, mode='nearest') for i, x in enumerate(inputs)]
        bsf = sum(gathered) / len(gathered)
        if self.refine_type is not None:
            bsf = self.refine(bsf)
        return tuple(x + (F.interpolate(bsf, size=x.shape[2:], mode='nearest') if i < self.refine_level
                          else F.adaptive_max_pool2d(bsf, output_size=x.shape[2:]))
                     for i, x in enumerate(inputs))
