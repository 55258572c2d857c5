"""Channel mapper: one conv per backbone level to a common width, as MMDetection 2.10's."""
import torch.nn as nn

from mmdet.ops import ConvModule, xavier_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import NECKS
from .fpn import check_inputs


@NECKS.register_module()
class ChannelMapper(nn.Module):
    """Map every level's channels to ``out_channels`` (spatial sizes unchanged).

    Args:
        in_channels (list[int]): channels of each input level.
        out_channels (int): channels of every output level.
        kernel_size (int): of the convs (odd; "same" padding ``(k - 1) // 2``).
        conv_cfg (dict | None), norm_cfg (dict | None), act_cfg (dict | None):
            of the ``ConvModule`` per level (``convs.<i>``).

    Forward: ``len(in_channels)`` maps (N, in_channels[i], H_i, W_i) -> a tuple
    of (N, out_channels, H_i, W_i).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, conv_cfg=None, norm_cfg=None,
                 act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(in_channels, (list, tuple)) or not in_channels:
            raise InvalidArgumentError(f'{name} in_channels must be a non-empty list, got {in_channels!r}')
        if not (isinstance(kernel_size, int) and kernel_size > 0):
            raise InvalidArgumentError(f'{name} kernel_size must be a positive int, got {kernel_size!r}')
        self.in_channels, self.out_channels = list(in_channels), out_channels
        self.convs = nn.ModuleList([
            ConvModule(c, out_channels, kernel_size, padding=(kernel_size - 1) // 2, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg, act_cfg=act_cfg)
            for c in in_channels])

    def init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                xavier_init(m, distribution='uniform')

    def forward(self, inputs):
        check_inputs(self, inputs)
        return tuple(conv(x) for conv, x in zip(self.convs, inputs))
