import os.path as osp
import warnings

import cv2
import numpy as np

from mmdet.utils.errors import InvalidArgumentError
from mmdet.utils.file_client import local_file_client

from .compose import PIPELINES


class ImageReadError(OSError):
    """An image file is missing or cannot be decoded; the message names it."""


# mmcv 1.x ``imread`` flags.  'color' and 'grayscale' turn the image as its EXIF orientation tag says
# (cv2's IMREAD_COLOR / IMREAD_GRAYSCALE do); 'unchanged' and the '*_ignore_orientation' flags do not.
IMREAD_FLAGS = {
    'color': cv2.IMREAD_COLOR,
    'grayscale': cv2.IMREAD_GRAYSCALE,
    'unchanged': cv2.IMREAD_UNCHANGED,
    'color_ignore_orientation': cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR,
    'grayscale_ignore_orientation': cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_GRAYSCALE,
}


def imread(path, color_type='color'):
    """Read an image file as mmcv's cv2 backend does.

    'color' gives 3-channel uint8 BGR whatever the file holds (grayscale, RGBA: alpha dropped,
    16-bit: scaled to 8 bits, CMYK JPEG: converted), turned upright by its EXIF orientation tag.
    A missing, empty or undecodable file raises :class:`ImageReadError` naming the path.
    """
    if color_type not in IMREAD_FLAGS:
        raise ValueError(f'color_type {color_type!r} is not one of {sorted(IMREAD_FLAGS)}')
    if not osp.isfile(path):
        raise ImageReadError(f'image file not found: {path}')
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise ImageReadError(f'cannot read image file {path}: {e.strerror or e}') from e
    if not buf.size:
        raise ImageReadError(f'image file is empty (0 bytes): {path}')
    img = cv2.imdecode(buf, IMREAD_FLAGS[color_type])
    if img is None:
        raise ImageReadError(f'image file is corrupt, truncated or not an image ({buf.size} bytes): {path}')
    if color_type.startswith('color') and img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def check_image_size(img, img_info, filename):
    """Warn when the decoded image's size differs from the ``width``/``height`` its annotation records
    (the boxes are then in another frame, e.g. of a JPEG that an EXIF orientation tag turns)."""
    try:
        want = (int(img_info['height']), int(img_info['width']))
    except (KeyError, TypeError, ValueError):
        return
    got = tuple(img.shape[:2])
    if got == want:
        return
    hint = ''
    if got == want[::-1]:
        hint = ("; it is turned by 90 degrees, as an EXIF orientation tag does: the boxes must be given "
                "for the upright image, or load with color_type='color_ignore_orientation'")
    image_id = f" (image id {img_info['id']})" if 'id' in img_info else ''
    warnings.warn(f'image {filename}{image_id} decodes as {got[1]}x{got[0]} (width x height) but its annotation '
                  f'says {want[1]}x{want[0]}{hint}')


@PIPELINES.register_module()
class LoadImageFromFile:
    """Read ``img_prefix/img_info.filename``: HWC, uint8 unless ``to_float32``, channels in
    ``channel_order`` (``'bgr'``, OpenCV's and 2.x's default, or ``'rgb'``, 2.23+).

    ``file_client_args`` is accepted for config compatibility: local files only (``backend='disk'``).
    """

    def __init__(self, to_float32=False, color_type='color', channel_order='bgr', file_client_args=None):
        name = type(self).__name__
        if channel_order not in ('bgr', 'rgb'):
            raise InvalidArgumentError(f"{name} channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        local_file_client(name, file_client_args)
        self.to_float32, self.color_type, self.channel_order = to_float32, color_type, channel_order

    def __call__(self, results):
        prefix = results.get('img_prefix')
        name = results['img_info']['filename']
        filename = osp.join(prefix, name) if prefix is not None else name
        img = imread(filename, self.color_type)
        check_image_size(img, results['img_info'], filename)
        if self.channel_order == 'rgb' and img.ndim == 3 and img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(filename=filename, ori_filename=name, img=img, img_shape=img.shape, ori_shape=img.shape,
                       img_fields=['img'])
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(to_float32={self.to_float32}, color_type={self.color_type!r}, '
                f'channel_order={self.channel_order!r})')


@PIPELINES.register_module()
class LoadImageFromWebcam(LoadImageFromFile):
    """Take an already-loaded array from ``results['img']`` (used by inference)."""

    def __call__(self, results):
        img = results['img']
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(filename=None, ori_filename=None, img=img, img_shape=img.shape, ori_shape=img.shape,
                       img_fields=['img'])
        return results


@PIPELINES.register_module()
class LoadMultiChannelImageFromFiles:
    """Read several single- or multi-channel files and stack them on the last axis (2.x).

    ``results['img_info']['filename']`` is a list of paths, each joined with
    ``results['img_prefix']`` (when not None). Sets ``filename`` (the joined paths),
    ``ori_filename`` (as given), ``img`` (H, W, N) for N 2-D files (H, W, C, N for C-channel
    files), ``img_shape``, ``ori_shape``, ``pad_shape``, ``scale_factor=1.0``, ``img_norm_cfg``
    (zero mean, unit std per channel, ``to_rgb=False``) and ``img_fields=['img']``.
    ``file_client_args`` is accepted for config compatibility (local files only).
    """

    def __init__(self, to_float32=False, color_type='unchanged', file_client_args=None):
        if color_type not in IMREAD_FLAGS:
            raise ValueError(f'color_type {color_type!r} is not one of {sorted(IMREAD_FLAGS)}')
        self.file_client_args = local_file_client('LoadMultiChannelImageFromFiles', file_client_args)
        self.to_float32, self.color_type = to_float32, color_type

    def __call__(self, results):
        names = results['img_info']['filename']
        if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
            raise TypeError(f'LoadMultiChannelImageFromFiles: img_info.filename must be a non-empty list of '
                            f'paths, got {names!r:.200}')
        prefix = results.get('img_prefix')
        filenames = [osp.join(prefix, n) for n in names] if prefix is not None else list(names)
        imgs = [imread(f, self.color_type) for f in filenames]
        shapes = {im.shape for im in imgs}
        if len(shapes) != 1:
            detail = ', '.join(f'{f}: {im.shape}' for f, im in zip(filenames, imgs))
            raise ImageReadError(f'LoadMultiChannelImageFromFiles: the images differ in shape ({detail})')
        img = np.stack(imgs, axis=-1)
        if self.to_float32:
            img = img.astype(np.float32)
        num_channels = 1 if img.ndim < 3 else img.shape[2]
        results.update(filename=filenames, ori_filename=names, img=img, img_shape=img.shape, ori_shape=img.shape,
                       pad_shape=img.shape, scale_factor=1.0, img_fields=['img'],
                       img_norm_cfg=dict(mean=np.zeros(num_channels, dtype=np.float32),
                                         std=np.ones(num_channels, dtype=np.float32), to_rgb=False))
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(to_float32={self.to_float32}, color_type={self.color_type!r}, '
                f'file_client_args={self.file_client_args})')


@PIPELINES.register_module()
class LoadAnnotations:
    """Move ``ann_info`` boxes/labels into ``gt_bboxes``/``gt_labels``/``gt_bboxes_ignore``.

    ``denorm_bbox=True`` (2.21+, OpenImages): the annotation's boxes are in [0, 1] and are scaled by the
    loaded image's width and height (``gt_bboxes`` only, as 2.x).  The mask/segmentation arguments are
    accepted for 2.x configs and must stay off (box detection only).
    """

    def __init__(self, with_bbox=True, with_label=True, with_mask=False, with_seg=False, poly2mask=True,
                 denorm_bbox=False, file_client_args=None):
        if with_mask or with_seg:
            raise ValueError('LoadAnnotations: masks and segmentation maps are not supported (box detection only)')
        if not isinstance(denorm_bbox, bool):
            raise InvalidArgumentError(f'LoadAnnotations denorm_bbox must be a bool, got {denorm_bbox!r}')
        self.with_bbox, self.with_label, self.denorm_bbox = with_bbox, with_label, denorm_bbox

    def __call__(self, results):
        ann = results['ann_info']
        if self.with_bbox:
            results['gt_bboxes'] = np.asarray(ann['bboxes'], dtype=np.float32).reshape(-1, 4).copy()
            ignore = ann.get('bboxes_ignore')
            results.setdefault('bbox_fields', [])
            if ignore is not None:
                results['gt_bboxes_ignore'] = np.asarray(ignore, dtype=np.float32).reshape(-1, 4).copy()
                results['bbox_fields'].append('gt_bboxes_ignore')
            results['bbox_fields'].append('gt_bboxes')
            if self.denorm_bbox and len(results['gt_bboxes']):
                if 'img_shape' not in results:
                    raise KeyError('LoadAnnotations(denorm_bbox=True) needs the image loaded first (img_shape)')
                h, w = results['img_shape'][:2]
                results['gt_bboxes'] *= np.array([w, h, w, h], dtype=np.float32)
        if self.with_label:
            results['gt_labels'] = np.asarray(ann['labels'], dtype=np.int64).copy()
        return results

    def __repr__(self):
        return f'{type(self).__name__}(with_bbox={self.with_bbox}, with_label={self.with_label})'
