"""VarifocalNet toolbox: MMDetection-2.x compatible, on PyTorch and torchvision alone."""
__version__ = '2.10.0+vfnet.1'
version_info = (2, 10, 0)

__all__ = ['__version__', 'version_info']

from .compat import install_mmcv_alias  # noqa: E402

install_mmcv_alias()  # 2.x user code's `import mmcv` works without mmcv (a real mmcv, if installed, wins)
