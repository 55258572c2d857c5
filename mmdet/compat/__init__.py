"""Compatibility with MMDetection 2.x code.

:mod:`mmdet.compat.mmcv` holds, under mmcv 1.x's module names, the names that
MMDetection 2.x's dense-detection code imports from mmcv, each served by this
package's own implementation.  :func:`install_mmcv_alias` (run by ``import mmdet``)
makes them importable as ``mmcv`` when the real mmcv is not installed, so an
unchanged 2.x module file (``from mmcv.cnn import ConvModule``) works; a real
mmcv, when installed, is found first and used as it is.
"""
from .alias import install_mmcv_alias, mmcv_is_alias

__all__ = ['install_mmcv_alias', 'mmcv_is_alias']
