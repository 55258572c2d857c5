"""ResNeXt (Xie et al. 2017): grouped 3x3 convs in the bottleneck."""
from mmdet.utils.errors import InvalidArgumentError

from ..builder import BACKBONES
from .resnet import Bottleneck, ResNet, is_int, make_res_layer


@BACKBONES.register_module()
class ResNeXt(ResNet):
    """``groups`` x ``base_width`` (e.g. 32x4d, 64x4d); otherwise as :class:`ResNet`."""

    arch_settings = {50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
                     152: (Bottleneck, (3, 8, 36, 3))}

    def __init__(self, groups=1, base_width=4, **kwargs):
        for arg, value in (('groups', groups), ('base_width', base_width)):
            if not (is_int(value) and value > 0):
                raise InvalidArgumentError(f'{type(self).__name__} {arg} must be a positive int, got {value!r}')
        self.groups, self.base_width = groups, base_width
        self._base_channels = kwargs.get('base_channels', 64)
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs):
        return make_res_layer(groups=self.groups, base_width=self.base_width, base_channels=self._base_channels,
                              **kwargs)
