"""Gaussian heatmap targets of keypoint detectors (CornerNet / CenterNet), as
MMDetection 2.x's ``mmdet.models.utils.gaussian_target``."""
from math import sqrt

import torch


def gaussian2D(radius, sigma=1, dtype=torch.float32, device='cpu'):
    """A (2r+1, 2r+1) unnormalised Gaussian ``exp(-(x^2 + y^2) / (2 sigma^2))``, peak 1 at
    the centre; values below ``eps * max`` are set to 0.

    Args:
        radius (int): r.
        sigma (float): the Gaussian's standard deviation. Default 1.
        dtype, device: of the result.
    """
    coords = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = (-(coords[None, :] ** 2 + coords[:, None] ** 2) / (2 * sigma * sigma)).exp()
    kernel[kernel < torch.finfo(kernel.dtype).eps * kernel.max()] = 0
    return kernel


def _as_int(value, name):
    as_int = int(value)
    if as_int != value:
        raise TypeError(f'{name} must be an integer, got {value!r}')
    return as_int


def gen_gaussian_target(heatmap, center, radius, k=1):
    """Draw a Gaussian of radius ``radius`` (sigma = (2r+1)/6), scaled by ``k``, at
    ``center`` into ``heatmap``, keeping the element-wise max (in place).

    Args:
        heatmap (Tensor): (H, W) heatmap of one class.
        center (sequence[int]): ``(x, y)`` integer position, inside the heatmap.
        radius (int): kernel radius r >= 0; the kernel is clipped at the borders.
        k (float): peak value. Default 1.

    Returns:
        Tensor: ``heatmap`` itself, updated.
    """
    if heatmap.dim() != 2:
        raise ValueError(f'heatmap must be (H, W), got shape {tuple(heatmap.shape)}')
    radius = _as_int(radius, 'radius')
    x, y = (_as_int(c, 'center') for c in center)
    height, width = heatmap.shape
    if radius < 0 or not (0 <= x < width and 0 <= y < height):
        raise ValueError(f'need radius >= 0 and center (x, y) inside the {height}x{width} heatmap, '
                         f'got radius={radius}, center={(x, y)}')
    kernel = gaussian2D(radius, sigma=(2 * radius + 1) / 6, dtype=heatmap.dtype, device=heatmap.device)
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    region = heatmap[y - top:y + bottom, x - left:x + right]
    patch = kernel[radius - top:radius + bottom, radius - left:radius + right] * k
    region.copy_(torch.maximum(region, patch))
    return heatmap


def gaussian_radius(det_size, min_overlap):
    """The CornerNet radius: the largest corner shift r keeping IoU >= ``min_overlap``
    with a box of size ``det_size``, the smallest over three cases (one corner
    inside / both inside / both outside the box), each solving a quadratic
    ``a r^2 + b r + c`` (the coefficients of 2.x and CornerNet-Lite, kept as is).

    Args:
        det_size (tuple): ``(height, width)`` of the box.
        min_overlap (float): the IoU to keep, in (0, 1].

    Returns:
        float: the radius (callers take ``max(0, int(r))``).
    """
    if not 0 < min_overlap <= 1:
        raise ValueError(f'min_overlap must be in (0, 1], got {min_overlap}')
    height, width = det_size

    b1 = height + width  # a1 = 1
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 - sqrt(b1 ** 2 - 4 * c1)) / 2

    a2, b2 = 4, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 - sqrt(b2 ** 2 - 4 * a2 * c2)) / (2 * a2)

    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + sqrt(b3 ** 2 - 4 * a3 * c3)) / (2 * a3)
    return min(r1, r2, r3)
