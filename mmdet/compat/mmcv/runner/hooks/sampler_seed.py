"""``mmcv.runner.hooks.sampler_seed``."""
from mmdet.runner.hooks.sampler_seed import DistSamplerSeedHook

from ..._missing import missing_for

__all__ = ['DistSamplerSeedHook']

__getattr__ = missing_for('mmcv.runner.hooks.sampler_seed')
