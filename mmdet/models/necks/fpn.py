"""Feature Pyramid Network (Lin et al. 2017), 2.x options and layout."""
import numbers

import torch.nn as nn
import torch.nn.functional as F

from mmdet.ops import ConvModule, xavier_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import NECKS


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_inputs(module, inputs):
    """The forward check of 2.x (``assert len(inputs) == len(self.in_channels)``), naming the module."""
    if len(inputs) != len(module.in_channels):
        raise InvalidArgumentError(f'{type(module).__name__} expects {len(module.in_channels)} inputs (one per '
                                   f'in_channels entry), got {len(inputs)}')


@NECKS.register_module()
class FPN(nn.Module):
    """Lateral 1x1 convs, top-down nearest upsampling, 3x3 output convs.

    ``add_extra_convs``: False (max-pool extra levels), True (legacy: on the
    input when ``extra_convs_on_inputs`` else on the output), or one of
    ``'on_input'``, ``'on_lateral'``, ``'on_output'``.
    """

    def __init__(self, in_channels, out_channels, num_outs, start_level=0, end_level=-1,
                 add_extra_convs=False, extra_convs_on_inputs=True, relu_before_extra_convs=False,
                 no_norm_on_lateral=False, conv_cfg=None, norm_cfg=None, act_cfg=None,
                 upsample_cfg=dict(mode='nearest'), init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if not (isinstance(in_channels, (list, tuple)) and in_channels
                and all(_is_int(c) and c > 0 for c in in_channels)):
            raise InvalidArgumentError(f'{name} in_channels must be a non-empty list of positive ints, '
                                       f'got {in_channels!r}')
        if not (_is_int(out_channels) and out_channels > 0):
            raise InvalidArgumentError(f'{name} out_channels must be a positive int, got {out_channels!r}')
        if not (_is_int(num_outs) and num_outs > 0):
            raise InvalidArgumentError(f'{name} num_outs must be a positive int, got {num_outs!r}')
        num_ins = len(in_channels)
        if not (_is_int(start_level) and 0 <= start_level < num_ins):
            raise InvalidArgumentError(f'{name} start_level must be an int in [0, {num_ins}) for {num_ins} inputs, '
                                       f'got {start_level!r}')
        self.in_channels, self.out_channels = list(in_channels), out_channels
        self.num_ins, self.num_outs = num_ins, num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = dict(upsample_cfg)
        if end_level == -1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise InvalidArgumentError(
                    f'{name} num_outs={num_outs} is fewer than the {self.num_ins - start_level} inputs used '
                    f'(in_channels={in_channels!r}, start_level={start_level})')
        else:
            # as 2.x: with an explicit end_level no extra level is allowed
            if not (_is_int(end_level) and start_level < end_level <= self.num_ins):
                raise InvalidArgumentError(
                    f'{name} end_level must be -1 or an int in ({start_level}, {self.num_ins}] '
                    f'(start_level, number of inputs], got {end_level!r}')
            if num_outs != end_level - start_level:
                raise InvalidArgumentError(
                    f'{name} num_outs={num_outs} must equal end_level - start_level = {end_level - start_level} '
                    f'when end_level is given (end_level={end_level}, start_level={start_level})')
            self.backbone_end_level = end_level
        self.start_level, self.end_level = start_level, end_level
        if not isinstance(add_extra_convs, (str, bool)):
            raise InvalidArgumentError(
                f"{name} add_extra_convs must be a bool or one of 'on_input', 'on_lateral', 'on_output', "
                f'got {add_extra_convs!r}')
        if add_extra_convs is True:
            add_extra_convs = 'on_input' if extra_convs_on_inputs else 'on_output'
        if add_extra_convs not in (False, 'on_input', 'on_lateral', 'on_output'):
            raise InvalidArgumentError(
                f"{name} add_extra_convs must be False, True, 'on_input', 'on_lateral' or 'on_output', "
                f'got {add_extra_convs!r}')
        self.add_extra_convs = add_extra_convs

        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(in_channels[i], out_channels, 1, conv_cfg=conv_cfg,
                                                 norm_cfg=norm_cfg if not no_norm_on_lateral else None,
                                                 act_cfg=act_cfg, inplace=False))
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1, conv_cfg=conv_cfg,
                                             norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False))
        extra_levels = num_outs - self.backbone_end_level + start_level
        if add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                in_ch = self.in_channels[self.backbone_end_level - 1] if i == 0 and add_extra_convs == 'on_input' \
                    else out_channels
                self.fpn_convs.append(ConvModule(in_ch, out_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                                                 norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False))

    def init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                xavier_init(m, distribution='uniform')

    def top_down(self, inputs):
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            if 'scale_factor' in self.upsample_cfg:
                up = F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                up = F.interpolate(laterals[i], size=laterals[i - 1].shape[2:], **self.upsample_cfg)
            laterals[i - 1] = laterals[i - 1] + up
        return laterals

    def extra_levels(self, inputs, laterals, outs):
        """Append the levels above the backbone's (strided convs or max-pools)."""
        used = len(laterals)
        if self.num_outs <= len(outs):
            return outs
        if not self.add_extra_convs:
            for _ in range(self.num_outs - used):
                outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            return outs
        source = {'on_input': inputs[self.backbone_end_level - 1], 'on_lateral': laterals[-1],
                  'on_output': outs[-1]}[self.add_extra_convs]
        outs.append(self.fpn_convs[used](source))
        for i in range(used + 1, self.num_outs):
            outs.append(self.fpn_convs[i](F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]))
        return outs

    def forward(self, inputs):
        check_inputs(self, inputs)
        laterals = self.top_down(inputs)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(len(laterals))]
        return tuple(self.extra_levels(inputs, laterals, outs))
