"""VarifocalNet toolbox: MMDetection-2.x compatible, on PyTorch and torchvision alone."""
from .version import __version__, short_version, version_info  # noqa: F401

__all__ = ['__version__', 'version_info']

from .compat import install_mmcv_alias  # noqa: E402

install_mmcv_alias()  # 2.x user code's `import mmcv` works without mmcv (a real mmcv, if installed, wins)
