import os.path as osp

import cv2
import numpy as np

from .compose import PIPELINES


class ImageReadError(OSError):
    """An image file is missing or cannot be decoded; the message names it."""


def imread(path, color_type='color'):
    flag = {'color': cv2.IMREAD_COLOR, 'grayscale': cv2.IMREAD_GRAYSCALE,
            'unchanged': cv2.IMREAD_UNCHANGED}[color_type]
    if not osp.isfile(path):
        raise ImageReadError(f'image file not found: {path}')
    buf = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(buf, flag) if buf.size else None
    if img is None:
        raise ImageReadError(f'image file is corrupt or not an image: {path}')
    if color_type == 'color' and img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


@PIPELINES.register_module()
class LoadImageFromFile:
    """Read ``img_prefix/img_info.filename`` (BGR, HWC, uint8 unless ``to_float32``)."""

    def __init__(self, to_float32=False, color_type='color', file_client_args=None):
        self.to_float32, self.color_type = to_float32, color_type

    def __call__(self, results):
        prefix = results.get('img_prefix')
        name = results['img_info']['filename']
        filename = osp.join(prefix, name) if prefix is not None else name
        img = imread(filename, self.color_type)
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(filename=filename, ori_filename=name, img=img, img_shape=img.shape, ori_shape=img.shape,
                       img_fields=['img'])
        return results

    def __repr__(self):
        return f'{type(self).__name__}(to_float32={self.to_float32}, color_type={self.color_type!r})'


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
class LoadAnnotations:
    """Move ``ann_info`` boxes/labels into ``gt_bboxes``/``gt_labels``/``gt_bboxes_ignore``."""

    def __init__(self, with_bbox=True, with_label=True, with_mask=False, with_seg=False, poly2mask=True,
                 file_client_args=None):
        if with_mask or with_seg:
            raise ValueError('LoadAnnotations: masks and segmentation maps are not supported (box detection only)')
        self.with_bbox, self.with_label = with_bbox, with_label

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
        if self.with_label:
            results['gt_labels'] = np.asarray(ann['labels'], dtype=np.int64).copy()
        return results

    def __repr__(self):
        return f'{type(self).__name__}(with_bbox={self.with_bbox}, with_label={self.with_label})'
