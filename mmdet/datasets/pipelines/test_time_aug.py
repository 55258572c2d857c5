import copy

from .compose import PIPELINES, Compose


@PIPELINES.register_module()
class MultiScaleFlipAug:
    """Run ``transforms`` once per (scale, flip) view; every output key becomes a list over views."""

    def __init__(self, transforms, img_scale=None, scale_factor=None, flip=False, flip_direction='horizontal'):
        if (img_scale is None) == (scale_factor is None):
            raise ValueError('MultiScaleFlipAug needs exactly one of img_scale and scale_factor')
        self.transforms = Compose(transforms)
        if img_scale is not None:
            self.img_scale = img_scale if isinstance(img_scale, list) else [img_scale]
            self.scale_key = 'scale'
        else:
            self.img_scale = scale_factor if isinstance(scale_factor, list) else [scale_factor]
            self.scale_key = 'scale_factor'
        self.flip = flip
        self.flip_direction = flip_direction if isinstance(flip_direction, list) else [flip_direction]

    def __call__(self, results):
        flips = [(False, None)] + ([(True, d) for d in self.flip_direction] if self.flip else [])
        views = []
        for scale in self.img_scale:
            for flip, direction in flips:
                r = copy.deepcopy(results)
                r[self.scale_key] = scale
                r['flip'], r['flip_direction'] = flip, direction
                views.append(self.transforms(r))
        return {k: [v[k] for v in views] for k in views[0]}

    def __repr__(self):
        return f'{type(self).__name__}(transforms={self.transforms}, img_scale={self.img_scale}, flip={self.flip})'
