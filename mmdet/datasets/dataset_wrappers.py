"""Dataset wrappers (2.x): concatenation, repetition and class-balanced oversampling.

The wrappers register themselves in :data:`DATASETS` and take already-built datasets;
``build_dataset`` builds the inner configs (named by each wrapper's ``WRAPS``) first.
Nothing here imports :func:`build_dataset`, so ``builder`` and this module do not import
each other.
"""
import bisect

import numpy as np
from torch.utils.data.dataset import ConcatDataset as _ConcatDataset

from mmdet.utils import print_log

from .builder import DATASETS


def _dataset_desc(dataset):
    return getattr(dataset, 'ann_file', None) or type(dataset).__name__


@DATASETS.register_module()
class ConcatDataset(_ConcatDataset):
    """Datasets one after another, with their aspect-ratio group ``flag`` concatenated.

    Args:
        datasets (list[Dataset]): the parts (built).
        separate_eval (bool): evaluate each part on its own results, keys prefixed by the
            part's index (``'0_bbox_mAP'``, ``'1_bbox_mAP'``, ...). With False the
            results are evaluated jointly, as one dataset: the parts must be of one type and
            have the same ``CLASSES``. COCO parts are merged into one ground truth (image and
            annotation ids re-numbered) and evaluated once; other types (VOC, custom) are
            evaluated by the first part's ``evaluate`` over all the parts' annotations, as 2.x.
    """

    WRAPS = 'datasets'

    def __init__(self, datasets, separate_eval=True):
        datasets = list(datasets)
        if not datasets:
            raise ValueError('ConcatDataset needs at least one dataset')
        super().__init__(datasets)
        self.CLASSES = datasets[0].CLASSES
        self.separate_eval = separate_eval
        if not separate_eval:
            self._check_joint()
        if all(hasattr(d, 'flag') for d in datasets):
            self.flag = np.concatenate([np.asarray(d.flag) for d in datasets])

    def _check_joint(self):
        types = sorted({type(d).__name__ for d in self.datasets})
        if len(types) != 1:
            raise NotImplementedError(f'ConcatDataset(separate_eval=False) needs datasets of one type, got {types}; '
                                      'set separate_eval=True')
        for i, d in enumerate(self.datasets[1:], 1):
            if d.CLASSES is None or list(d.CLASSES) != list(self.CLASSES or []):
                raise ValueError(f'ConcatDataset(separate_eval=False): dataset {i} has CLASSES {d.CLASSES!r:.200}, '
                                 f'dataset 0 has {self.CLASSES!r:.200}; joint evaluation needs the same classes')

    def _locate(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f'index {idx} out of range for a dataset of length {len(self)}')
            idx += len(self)
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        if d >= len(self.datasets):
            raise IndexError(f'index {idx} out of range for a dataset of length {len(self)}')
        return d, idx - (self.cumulative_sizes[d - 1] if d else 0)

    def get_cat_ids(self, idx):
        """Category ids of image ``idx`` (as the part holding it gives them)."""
        d, i = self._locate(idx)
        return self.datasets[d].get_cat_ids(i)

    def evaluate(self, results, logger=None, **kwargs):
        """Evaluate per part (``'{i}_{key}'``) or jointly; see the class docstring."""
        if len(results) != self.cumulative_sizes[-1]:
            raise ValueError(f'ConcatDataset.evaluate: {len(results)} results for {self.cumulative_sizes[-1]} images')
        for i, d in enumerate(self.datasets):
            if not hasattr(d, 'evaluate'):
                raise TypeError(f'ConcatDataset.evaluate: dataset {i} ({type(d).__name__}) has no evaluate()')
        if self.separate_eval:
            out, start = {}, 0
            for i, (d, end) in enumerate(zip(self.datasets, self.cumulative_sizes)):
                print_log(f'\nEvaluating {_dataset_desc(d)} with {end - start} images now', logger=logger)
                for k, v in d.evaluate(results[start:end], logger=logger, **kwargs).items():
                    out[f'{i}_{k}'] = v
                start = end
            return out
        self._check_joint()
        from .coco import CocoDataset, evaluate_coco_jointly
        if isinstance(self.datasets[0], CocoDataset):
            return evaluate_coco_jointly(self.datasets, results, logger=logger, **kwargs)
        first = self.datasets[0]
        if not hasattr(first, 'data_infos'):
            raise NotImplementedError(f'joint evaluation of {type(first).__name__} (no data_infos): '
                                      'set separate_eval=True')
        original = first.data_infos
        first.data_infos = [info for d in self.datasets for info in d.data_infos]
        try:
            return first.evaluate(results, logger=logger, **kwargs)
        finally:
            first.data_infos = original


@DATASETS.register_module()
class RepeatDataset:
    """A dataset repeated ``times`` (shorter epochs for small datasets)."""

    WRAPS = 'dataset'

    def __init__(self, dataset, times):
        if int(times) != times or times < 1:
            raise ValueError(f'RepeatDataset: times must be a positive integer, got {times!r}')
        self.dataset, self.times = dataset, int(times)
        self.CLASSES = dataset.CLASSES
        if hasattr(dataset, 'flag'):
            self.flag = np.tile(dataset.flag, self.times)
        self._ori_len = len(dataset)

    def __getitem__(self, idx):
        return self.dataset[idx % self._ori_len]

    def get_cat_ids(self, idx):
        return self.dataset.get_cat_ids(idx % self._ori_len)

    def __len__(self):
        return self.times * self._ori_len


@DATASETS.register_module()
class ClassBalancedDataset:
    """Oversample images of rare categories (repeat factor sampling, LVIS paper,
    https://arxiv.org/abs/1908.03195), as 2.x.

    1. ``f(c)``: the fraction of the (unrepeated) images in which category ``c`` appears;
    2. ``r(c) = max(1, sqrt(oversample_thr / f(c)))``;
    3. ``r(I) = max(r(c) for c in I)``; an image appears ``ceil(r(I))`` times per epoch.

    Args:
        dataset: the dataset (built); it must have ``get_cat_ids(idx)``.
        oversample_thr (float): categories with ``f(c) >= oversample_thr`` are not oversampled.
        filter_empty_gt (bool): True: images without boxes have ``r = 1`` (not oversampled).
            False: they count as one extra "background" category (id ``len(CLASSES)``) that is
            oversampled like the others.

    Attributes: ``repeat_factors`` (float per original image), ``repeat_indices`` (original
    index per sample), ``flag`` (group flag per sample, uint8), ``CLASSES``.
    """

    WRAPS = 'dataset'

    def __init__(self, dataset, oversample_thr, filter_empty_gt=True):
        if not hasattr(dataset, 'get_cat_ids'):
            raise TypeError(f'ClassBalancedDataset: {type(dataset).__name__} has no get_cat_ids(idx)')
        if not oversample_thr >= 0:
            raise ValueError(f'ClassBalancedDataset: oversample_thr must be >= 0, got {oversample_thr!r}')
        self.dataset = dataset
        self.oversample_thr = oversample_thr
        self.filter_empty_gt = filter_empty_gt
        self.CLASSES = dataset.CLASSES
        self.repeat_factors = self._get_repeat_factors(dataset, oversample_thr)
        repeats = np.ceil(self.repeat_factors).astype(np.int64)
        self.repeat_indices = np.repeat(np.arange(len(dataset)), repeats).tolist()
        if hasattr(dataset, 'flag'):
            self.flag = np.repeat(np.asarray(dataset.flag, dtype=np.uint8), repeats)
        else:
            self.flag = np.zeros(0, dtype=np.uint8)  # as 2.x: empty when the dataset has none

    def _get_repeat_factors(self, dataset, repeat_thr):
        """``r(I)`` for each image of ``dataset`` (float64 array)."""
        n = len(dataset)
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        background = len(self.CLASSES) if self.CLASSES is not None else -1
        per_image = []
        for idx in range(n):
            cats = set(dataset.get_cat_ids(idx))
            if not cats and not self.filter_empty_gt:
                cats = {background}
            per_image.append(list(cats))
        lengths = np.array([len(c) for c in per_image], dtype=np.int64)
        flat = np.array([c for cats in per_image for c in cats], dtype=np.int64)
        if flat.size == 0:
            return np.ones(n, dtype=np.float64)
        uniq, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
        freq = counts / n  # each category counted once per image
        cat_repeat = np.maximum(1.0, np.sqrt(repeat_thr / freq))
        factors = np.ones(n, dtype=np.float64)
        has = lengths > 0
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[has]
        factors[has] = np.maximum.reduceat(cat_repeat[inverse], starts)
        return factors

    def __getitem__(self, idx):
        return self.dataset[self.repeat_indices[idx]]

    def get_cat_ids(self, idx):
        return self.dataset.get_cat_ids(self.repeat_indices[idx])

    def __len__(self):
        return len(self.repeat_indices)
