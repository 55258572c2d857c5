"""Feature Pyramid Network (Lin et al. 2017), 2.x options and layout."""
import torch.nn as nn
import torch.nn.functional as F

from mmdet.ops import ConvModule, xavier_init

from ..builder import NECKS


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
        assert isinstance(in_channels, (list, tuple))
        self.in_channels, self.out_channels = list(in_channels), out_channels
        self.num_ins, self.num_outs = len(in_channels), num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = dict(upsample_cfg)
        if end_level == -1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f'num_outs={num_outs} is fewer than the {self.num_ins - start_level} inputs used')
        else:
            self.backbone_end_level = end_level
            if end_level > self.num_ins or num_outs != end_level - start_level:
                raise ValueError('end_level and num_outs are inconsistent')
        self.start_level, self.end_level = start_level, end_level
        if add_extra_convs is True:
            add_extra_convs = 'on_input' if extra_convs_on_inputs else 'on_output'
        if add_extra_convs not in (False, 'on_input', 'on_lateral', 'on_output'):
            raise ValueError(f"add_extra_convs must be False, True, 'on_input', 'on_lateral' or 'on_output', "
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
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'FPN expects {len(self.in_channels)} inputs, got {len(inputs)}')
        laterals = self.top_down(inputs)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(len(laterals))]
        return tuple(self.extra_levels(inputs, laterals, outs))
