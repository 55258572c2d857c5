"""A stage of residual blocks (MMDetection 2.x's ``mmdet.models.utils.res_layer.ResLayer``)."""
from torch import nn

from mmdet.ops import build_conv_layer, build_norm_layer


class ResLayer(nn.Sequential):
    """``num_blocks`` residual blocks in an ``nn.Sequential`` (keys ``'0.conv1.weight'``, ...).

    The block that changes the resolution or width gets a projection shortcut
    ``downsample``: ``[AvgPool2d (avg_down only)], 1x1 conv, norm`` (keys
    ``'0.downsample.0.weight'``, ``'0.downsample.1.weight'``, ... as 2.x).

    Args:
        block (type): the block class, e.g. ``BasicBlock`` / ``Bottleneck`` of
            :mod:`mmdet.models.backbones.resnet`; called as ``block(inplanes=,
            planes=, stride=, downsample=, conv_cfg=, norm_cfg=, **kwargs)`` and
            must have an ``expansion`` attribute.
        inplanes (int): input channels C_in.
        planes (int): the block's planes; the output has ``planes * block.expansion`` channels.
        num_blocks (int): number of blocks (>= 1).
        stride (int): stride of the downsampling block. Default 1.
        avg_down (bool): shortcut downsampling by ``AvgPool2d(stride)`` then a
            stride-1 conv (ResNet-D) instead of a strided conv.  As 2.x the pool
            is added whenever ``avg_down`` (a no-op ``AvgPool2d(1)`` at stride 1,
            which shifts the shortcut's conv to key ``downsample.1``).
        conv_cfg (dict | None): conv config. Default None (``Conv2d``).
        norm_cfg (dict): norm config. Default ``dict(type='BN')``.
        downsample_first (bool): the first block downsamples (ResNet); with
            False the last does (Hourglass), the others keeping ``inplanes``.
        **kwargs: passed to every block (``dilation``, ``style``, ``with_cp``, ``dcn``, ...).

    Shapes: (N, C_in, H, W) -> (N, planes * expansion, ceil(H / stride), ceil(W / stride))
    (for 3x3 blocks with padding = dilation).
    """

    def __init__(self, block, inplanes, planes, num_blocks, stride=1, avg_down=False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), downsample_first=True, **kwargs):
        if not hasattr(block, 'expansion'):
            raise TypeError(f'ResLayer block {getattr(block, "__name__", block)!r} has no `expansion` attribute')
        if num_blocks < 1:
            raise ValueError(f'ResLayer needs num_blocks >= 1, got {num_blocks}')
        self.block = block
        out_planes = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_planes:
            layers = []
            conv_stride = stride
            if avg_down:
                conv_stride = 1
                layers.append(nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True,
                                           count_include_pad=False))
            layers += [build_conv_layer(conv_cfg, inplanes, out_planes, kernel_size=1, stride=conv_stride,
                                        bias=False),
                       build_norm_layer(norm_cfg, out_planes)[1]]
            downsample = nn.Sequential(*layers)

        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, **kwargs)
        if downsample_first:
            blocks = [block(inplanes=inplanes, planes=planes, stride=stride, downsample=downsample, **common)]
            blocks += [block(inplanes=out_planes, planes=planes, stride=1, **common) for _ in range(1, num_blocks)]
        else:  # Hourglass: keep inplanes, change width / resolution in the last block
            blocks = [block(inplanes=inplanes, planes=inplanes, stride=1, **common) for _ in range(num_blocks - 1)]
            blocks.append(block(inplanes=inplanes, planes=planes, stride=stride, downsample=downsample, **common))
        super().__init__(*blocks)
