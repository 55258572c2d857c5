"""mmcv 1.x image functions (``mmcv.imread``, ``mmcv.imresize``, ...) with their
mmcv signatures, on this toolbox's OpenCV-based implementations."""
import os
import os.path as osp

import cv2
import numpy as np

from mmdet.datasets.pipelines.loading import IMREAD_FLAGS
from mmdet.datasets.pipelines.loading import imread as _imread
from mmdet.datasets.pipelines.transforms import imflip, imnormalize, rescale_size
from mmdet.datasets.pipelines.transforms import imresize as _imresize

__all__ = ['imread', 'imwrite', 'imfrombytes', 'imresize', 'imrescale', 'imflip', 'impad', 'imnormalize', 'bgr2rgb',
           'rgb2bgr']

def bgr2rgb(img):
    """(H, W, 3) BGR -> RGB."""
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def rgb2bgr(img):
    """(H, W, 3) RGB -> BGR."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2BGR)


def _order(img, flag, channel_order):
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    return bgr2rgb(img) if channel_order == 'rgb' and flag.startswith('color') and img.ndim == 3 else img


def imread(img_or_path, flag='color', channel_order='bgr'):
    """An image array from a path (or the array itself); ``flag``: color, grayscale or unchanged."""
    if isinstance(img_or_path, np.ndarray):
        return img_or_path
    if not isinstance(img_or_path, (str, os.PathLike)):
        raise TypeError(f'imread takes an array or a path, got {type(img_or_path).__name__}')
    return _order(_imread(os.fspath(img_or_path), flag), flag, channel_order)


def imfrombytes(content, flag='color', channel_order='bgr'):
    """Decode an encoded image held in ``content`` (bytes)."""
    if flag not in IMREAD_FLAGS:
        raise ValueError(f'imfrombytes: flag {flag!r} is not one of {sorted(IMREAD_FLAGS)}')
    img = cv2.imdecode(np.frombuffer(content, np.uint8), IMREAD_FLAGS[flag])
    if img is None:
        raise ValueError('imfrombytes: the bytes are not a decodable image')
    return _order(img, flag, channel_order)


def imwrite(img, file_path, params=None, auto_mkdir=True):
    """Write ``img`` to ``file_path`` (format from its extension); True on success."""
    if auto_mkdir and osp.dirname(osp.abspath(file_path)):
        os.makedirs(osp.dirname(osp.abspath(file_path)), exist_ok=True)
    ok, buf = cv2.imencode(osp.splitext(file_path)[1], img, params or [])
    if ok:
        buf.tofile(file_path)
    return bool(ok)


def imresize(img, size, return_scale=False, interpolation='bilinear', out=None, backend=None):
    """Resize to ``size`` (w, h); with ``return_scale`` also the w and h factors."""
    h, w = img.shape[:2]
    resized = _imresize(img, tuple(int(s) for s in size), interpolation)
    if out is not None:
        out[...] = resized
        resized = out
    if not return_scale:
        return resized
    return resized, size[0] / w, size[1] / h


def imrescale(img, scale, return_scale=False, interpolation='bilinear', backend=None):
    """Resize keeping the aspect ratio: ``scale`` a factor, or (long, short) edge bounds."""
    h, w = img.shape[:2]
    if isinstance(scale, (float, int)):
        if scale <= 0:
            raise ValueError(f'imrescale: invalid scale {scale}, must be positive')
        new_size, factor = (int(w * float(scale) + 0.5), int(h * float(scale) + 0.5)), scale
    elif isinstance(scale, (tuple, list)) and len(scale) == 2:
        new_size, factor = rescale_size((w, h), scale)
    else:
        raise TypeError(f'imrescale: scale must be a number or a tuple of 2 ints, got {scale!r}')
    resized = _imresize(img, new_size, interpolation)
    return (resized, factor) if return_scale else resized


def impad(img, *, shape=None, padding=None, pad_val=0, padding_mode='constant'):
    """Pad to ``shape`` (h, w) at the bottom/right, or by ``padding`` (left, top, right, bottom)
    or one int for all sides; ``pad_val`` a number or one per channel."""
    if (shape is None) == (padding is None):
        raise ValueError('impad: give exactly one of shape and padding')
    if shape is not None:
        padding = (0, 0, shape[1] - img.shape[1], shape[0] - img.shape[0])
    elif isinstance(padding, int):
        padding = (padding,) * 4
    elif isinstance(padding, tuple) and len(padding) == 2:
        padding = (padding[0], padding[1], padding[0], padding[1])
    if len(padding) != 4 or min(padding) < 0:
        raise ValueError(f'impad: padding must be 4 non-negative ints (left, top, right, bottom), got {padding}')
    modes = {'constant': cv2.BORDER_CONSTANT, 'edge': cv2.BORDER_REPLICATE, 'reflect': cv2.BORDER_REFLECT_101,
             'symmetric': cv2.BORDER_REFLECT}
    if padding_mode not in modes:
        raise ValueError(f'impad: padding_mode must be one of {sorted(modes)}, got {padding_mode!r}')
    if isinstance(pad_val, (tuple, list)) and img.ndim == 3 and len(pad_val) != img.shape[-1]:
        raise ValueError(f'impad: {len(pad_val)} pad values for {img.shape[-1]} channels')
    left, top, right, bottom = padding
    if not isinstance(pad_val, (tuple, list)):
        pad_val = (pad_val,) * (img.shape[2] if img.ndim == 3 else 1)  # every channel, not only the first
    return cv2.copyMakeBorder(img, top, bottom, left, right, modes[padding_mode], value=pad_val)
