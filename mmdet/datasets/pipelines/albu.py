"""``Albu``: a pipeline step made of `Albumentations <https://albumentations.ai>`_ transforms, with
MMDetection 2.x's arguments.  ``albumentations`` is an optional package, imported when an ``Albu`` is
built."""
import copy
import difflib
import inspect
import os

import numpy as np

from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES
from .transforms import check_bool

DEFAULT_KEYMAP = {'img': 'image', 'gt_masks': 'masks', 'gt_bboxes': 'bboxes'}


def import_albumentations():
    """The optional ``albumentations`` module, or an ImportError naming the pip package."""
    os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')  # no version check over the network on import
    try:
        import albumentations
    except ImportError as e:
        raise ImportError(f'Albu needs the optional package albumentations: pip install albumentations ({e})') from e
    return albumentations


@PIPELINES.register_module()
class Albu:
    """Albumentations transforms on the image and ``gt_bboxes``.

    ``transforms`` are configs like the pipeline's, with albumentations class names (nested
    ``transforms`` for ``OneOf``, ``SomeOf``, ...)::

        dict(type='Albu',
             transforms=[dict(type='ShiftScaleRotate', shift_limit=0.0625, scale_limit=0.0, rotate_limit=0, p=0.5),
                         dict(type='RandomBrightnessContrast', brightness_limit=[0.1, 0.3], p=0.2),
                         dict(type='OneOf', transforms=[dict(type='Blur', blur_limit=3, p=1.0),
                                                         dict(type='MedianBlur', blur_limit=3, p=1.0)], p=0.1)],
             bbox_params=dict(type='BboxParams', format='pascal_voc', label_fields=['gt_labels'],
                              min_visibility=0.0, filter_lost_elements=True),
             keymap={'img': 'image', 'gt_bboxes': 'bboxes'},
             update_pad_shape=False, skip_img_without_anno=True)

    Args:
        transforms (list[dict]): the albumentations transforms, applied by one ``albumentations.Compose``.
        bbox_params (dict | None): ``albumentations.BboxParams`` arguments (``type`` optional); boxes are
            ``'pascal_voc'`` (x1, y1, x2, y2 pixels) in this toolbox.  With both ``label_fields`` and
            ``filter_lost_elements`` (2.x's own key), the label fields are re-indexed from the boxes that
            albumentations keeps, whatever they are.
        keymap (dict | None): results key -> albumentations key (default
            ``{'img': 'image', 'gt_masks': 'masks', 'gt_bboxes': 'bboxes'}``).
        update_pad_shape (bool): set ``pad_shape`` to the output image shape.
        skip_img_without_anno (bool): with ``filter_lost_elements``, drop the sample (return None) when no
            box is left.

    ``img_shape`` always follows the output image.  ``gt_bboxes_ignore`` is not passed to albumentations
    (as in 2.x): keep geometric albumentations transforms out of pipelines that load ignored boxes.
    """

    def __init__(self, transforms, bbox_params=None, keymap=None, update_pad_shape=False,
                 skip_img_without_anno=False):
        name = type(self).__name__
        albumentations = import_albumentations()
        if not (isinstance(transforms, (list, tuple)) and all(isinstance(t, dict) for t in transforms)):
            raise InvalidArgumentError(f'{name} transforms must be a list of transform configs (dicts), '
                                       f'got {transforms!r}')
        if bbox_params is not None and not isinstance(bbox_params, dict):
            raise InvalidArgumentError(f'{name} bbox_params must be None or a dict, got {bbox_params!r}')
        if keymap is not None and not isinstance(keymap, dict):
            raise InvalidArgumentError(f'{name} keymap must be None or a dict, got {keymap!r}')
        check_bool(name, 'update_pad_shape', update_pad_shape)
        check_bool(name, 'skip_img_without_anno', skip_img_without_anno)
        self.transforms = copy.deepcopy(list(transforms))
        self.update_pad_shape, self.skip_img_without_anno = update_pad_shape, skip_img_without_anno
        bbox_params = copy.deepcopy(bbox_params)
        self.filter_lost_elements = False
        if bbox_params and 'label_fields' in bbox_params and 'filter_lost_elements' in bbox_params:
            # albumentations filters a pseudo label (each box's index); the real label fields follow it
            self.filter_lost_elements = True
            self.origin_label_fields = bbox_params['label_fields']
            bbox_params['label_fields'] = ['idx_mapper']
            del bbox_params['filter_lost_elements']
        if bbox_params:
            bbox_params.setdefault('type', 'BboxParams')
        self.bbox_params = self.albu_builder(bbox_params) if bbox_params else None
        self.aug = albumentations.Compose([self.albu_builder(t) for t in self.transforms],
                                          bbox_params=self.bbox_params)
        self.keymap_to_albu = copy.deepcopy(keymap) if keymap else dict(DEFAULT_KEYMAP)
        self.keymap_back = {v: k for k, v in self.keymap_to_albu.items()}

    def albu_builder(self, cfg):
        """An albumentations object from a config: ``type`` a class name of albumentations (or a class);
        a nested ``transforms`` list is built too."""
        owner = type(self).__name__
        albumentations = import_albumentations()
        if not (isinstance(cfg, dict) and 'type' in cfg):
            raise InvalidArgumentError(f"{owner} transform configs must be dicts with a 'type' key, got {cfg!r}")
        args = dict(cfg)
        obj_type = args.pop('type')
        if isinstance(obj_type, str):
            obj_cls = getattr(albumentations, obj_type, None)
            if not inspect.isclass(obj_cls):
                names = [n for n in dir(albumentations) if n[:1].isupper()]
                close = difflib.get_close_matches(obj_type, names, 3)
                hint = f'; did you mean {", ".join(close)}?' if close else ''
                raise InvalidArgumentError(
                    f'{owner}: albumentations {albumentations.__version__} has no transform {obj_type!r}{hint}')
        elif inspect.isclass(obj_type):
            obj_cls = obj_type
        else:
            raise InvalidArgumentError(f'{owner} transform type must be a str or a class, got {obj_type!r}')
        if 'transforms' in args:
            args['transforms'] = [self.albu_builder(t) for t in args['transforms']]
        return obj_cls(**args)

    @staticmethod
    def mapper(d, keymap):
        """``d`` with its keys renamed by ``keymap`` (others kept)."""
        return {keymap.get(k, k): v for k, v in d.items()}

    def __call__(self, results):
        results = self.mapper(results, self.keymap_to_albu)
        if 'masks' in results:
            raise NotImplementedError(f'{type(self).__name__} transforms images and boxes only; got masks')
        if 'bboxes' in results:
            results['bboxes'] = np.asarray(results['bboxes'], dtype=np.float32).reshape(-1, 4)
            if self.filter_lost_elements:
                results['idx_mapper'] = np.arange(len(results['bboxes']))
        results = self.aug(**results)
        if 'bboxes' in results:
            results['bboxes'] = np.asarray(results['bboxes'], dtype=np.float32).reshape(-1, 4)
            if self.filter_lost_elements:
                kept = np.asarray(results.pop('idx_mapper'), dtype=np.int64).reshape(-1)
                for label in self.origin_label_fields:
                    results[label] = np.asarray(results[label])[kept]
                if not len(kept) and self.skip_img_without_anno:
                    return None
        if 'gt_labels' in results:
            results['gt_labels'] = np.asarray(results['gt_labels']).astype(np.int64)
        results = self.mapper(results, self.keymap_back)
        results['img_shape'] = results['img'].shape
        if self.update_pad_shape:
            results['pad_shape'] = results['img'].shape
        return results

    def __repr__(self):
        return f'{type(self).__name__}(transforms={self.transforms})'
