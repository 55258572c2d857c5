import cv2
import numpy as np
import torch

from mmdet.parallel import DataContainer
from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES


def to_tensor(data):
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(data))
    if isinstance(data, (list, tuple)):
        return torch.tensor(data)
    if isinstance(data, int):
        return torch.LongTensor([data])
    if isinstance(data, float):
        return torch.FloatTensor([data])
    raise TypeError(f'type {type(data).__name__} cannot be converted to a tensor')


def hwc_to_chw(img):
    """A contiguous CHW copy of an HWC (or HW) array.  OpenCV's split writes the planes straight into the
    result and, unlike numpy's strided copy or torch's single-threaded one in loader workers, runs at memory
    speed (1088x800x3 float32: 1.8 ms against 2.3-3.9 ms)."""
    if img.ndim < 3:
        return np.ascontiguousarray(img[None])
    out = np.empty((img.shape[2],) + img.shape[:2], img.dtype)
    if 1 < img.shape[2] <= 4 and img.dtype in (np.uint8, np.float32) and img.strides[1:] == (
            img.shape[2] * img.itemsize, img.itemsize):
        cv2.split(img, list(out))
    else:
        out[...] = img.transpose(2, 0, 1)
    return out


@PIPELINES.register_module()
class ImageToTensor:
    """HWC arrays under ``keys`` -> CHW tensors."""

    def __init__(self, keys):
        self.keys = keys

    def __call__(self, results):
        for k in self.keys:
            results[k] = torch.from_numpy(hwc_to_chw(results[k]))
        return results

    def __repr__(self):
        return f'{type(self).__name__}(keys={self.keys})'


@PIPELINES.register_module()
class ToTensor(ImageToTensor):
    def __call__(self, results):
        for k in self.keys:
            results[k] = to_tensor(results[k])
        return results


@PIPELINES.register_module()
class Transpose:
    """Permute the arrays under ``keys`` by ``order`` (2.x's ``Transpose``)."""

    def __init__(self, keys, order):
        self.keys, self.order = keys, order

    def __call__(self, results):
        for k in self.keys:
            results[k] = results[k].transpose(self.order)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(keys={self.keys}, order={self.order})'


@PIPELINES.register_module()
class ToDataContainer:
    """Wrap fields in :class:`~mmdet.parallel.DataContainer` s (2.x's ``ToDataContainer``).

    Args:
        fields (Sequence[dict]): one dict per field, ``key`` plus the DataContainer's
            keyword arguments (``stack``, ``cpu_only``, ``padding_value``, ``pad_dims``).
    """

    def __init__(self, fields=(dict(key='img', stack=True), dict(key='gt_bboxes'), dict(key='gt_labels'))):
        self.fields = fields

    def __call__(self, results):
        for field in self.fields:
            field = dict(field)
            key = field.pop('key')
            results[key] = DataContainer(results[key], **field)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(fields={self.fields})'


@PIPELINES.register_module()
class DefaultFormatBundle:
    """The training pipeline's formatting step, as 2.x: ``img`` -> a CHW float tensor in a stacked
    :class:`~mmdet.parallel.DataContainer` (batches are padded to the largest image); ``proposals``,
    ``gt_bboxes``, ``gt_bboxes_ignore``, ``gt_labels`` -> tensors in (non-stacked) DataContainers;
    ``gt_masks`` -> a ``cpu_only`` DataContainer.  Fills ``pad_shape``, ``scale_factor`` and
    ``img_norm_cfg`` when the pipeline did not set them.

    Args (2.19+ / 2.20+):
        img_to_float (bool): cast the image to float32 (always so for non-uint8 images); ``False`` keeps a
            uint8 image uint8.
        pad_val (dict): ``dict(img=0, masks=0, seg=255)``: ``img`` is the value batches are padded with
            (YOLOX pads with 114); the others are accepted for 2.x configs.
    """

    def __init__(self, img_to_float=True, pad_val=None):
        name = type(self).__name__
        if not isinstance(img_to_float, bool):
            raise InvalidArgumentError(f'{name} img_to_float must be a bool, got {img_to_float!r}')
        pad_val = dict(img=0, masks=0, seg=255) if pad_val is None else pad_val
        if not isinstance(pad_val, dict) or set(pad_val) - {'img', 'masks', 'seg'} \
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pad_val.values()):
            raise InvalidArgumentError(f"{name} pad_val must be a dict of numbers with keys among 'img', "
                                       f"'masks' and 'seg', got {pad_val!r}")
        self.img_to_float, self.pad_val = img_to_float, dict(dict(img=0, masks=0, seg=255), **pad_val)

    def __call__(self, results):
        if 'img' in results:
            img = results['img']
            results.setdefault('pad_shape', img.shape)
            results.setdefault('scale_factor', np.ones(4, dtype=np.float32))
            num_channels = 1 if img.ndim < 3 else img.shape[2]
            results.setdefault('img_norm_cfg', dict(mean=np.zeros(num_channels, np.float32),
                                                    std=np.ones(num_channels, np.float32), to_rgb=False))
            tensor = torch.from_numpy(hwc_to_chw(img))
            if self.img_to_float or img.dtype != np.uint8:
                tensor = tensor.float()
            results['img'] = DataContainer(tensor, stack=True, padding_value=self.pad_val['img'])
        for key in ('proposals', 'gt_bboxes', 'gt_bboxes_ignore', 'gt_labels'):
            if key in results:
                results[key] = DataContainer(to_tensor(results[key]))
        if 'gt_masks' in results:
            results['gt_masks'] = DataContainer(results['gt_masks'], cpu_only=True)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(img_to_float={self.img_to_float}, pad_val={self.pad_val})'


@PIPELINES.register_module()
class Collect:
    """Keep ``keys`` and gather ``meta_keys`` into ``img_metas``, a ``cpu_only``
    :class:`~mmdet.parallel.DataContainer` holding the meta dict (as 2.x)."""

    def __init__(self, keys, meta_keys=('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape',
                                        'scale_factor', 'flip', 'flip_direction', 'img_norm_cfg')):
        self.keys, self.meta_keys = keys, meta_keys

    def __call__(self, results):
        data = {'img_metas': DataContainer({k: results[k] for k in self.meta_keys if k in results}, cpu_only=True)}
        for k in self.keys:
            if k not in results:
                raise KeyError(f"Collect: '{k}' is not produced by the pipeline (have: {sorted(results)})")
            data[k] = results[k]
        return data

    def __repr__(self):
        return f'{type(self).__name__}(keys={self.keys}, meta_keys={self.meta_keys})'


@PIPELINES.register_module()
class WrapFieldsToLists:
    """Wrap every field in a one-element list, as a test-time augmentation's output is (2.x's
    ``WrapFieldsToLists``: a test pipeline without ``MultiScaleFlipAug``)."""

    def __call__(self, results):
        return {k: [v] for k, v in results.items()}

    def __repr__(self):
        return f'{type(self).__name__}()'
