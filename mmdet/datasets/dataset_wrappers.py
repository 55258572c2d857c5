import bisect

import numpy as np
from torch.utils.data.dataset import ConcatDataset as _ConcatDataset

from .builder import DATASETS


@DATASETS.register_module()
class ConcatDataset(_ConcatDataset):
    """Datasets one after another; evaluated per part (``separate_eval``) or as one."""

    def __init__(self, datasets, separate_eval=True):
        super().__init__(datasets)
        self.CLASSES = datasets[0].CLASSES
        self.separate_eval = separate_eval
        if hasattr(datasets[0], 'flag'):
            self.flag = np.concatenate([d.flag for d in datasets])

    def get_cat_ids(self, idx):
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[d].get_cat_ids(idx - (self.cumulative_sizes[d - 1] if d else 0))

    def evaluate(self, results, logger=None, **kwargs):
        if len(results) != self.cumulative_sizes[-1]:
            raise ValueError(f'{len(results)} results for {self.cumulative_sizes[-1]} images')
        if not self.separate_eval:
            if len({type(d) for d in self.datasets}) != 1:
                raise ValueError('joint evaluation needs datasets of one type')
            raise NotImplementedError('joint evaluation of concatenated datasets: set separate_eval=True')
        out, start = {}, 0
        for i, (d, end) in enumerate(zip(self.datasets, self.cumulative_sizes)):
            for k, v in d.evaluate(results[start:end], logger=logger, **kwargs).items():
                out[f'{i}_{k}'] = v
            start = end
        return out


@DATASETS.register_module()
class RepeatDataset:
    """A dataset repeated ``times`` (shorter epochs for small datasets)."""

    def __init__(self, dataset, times):
        self.dataset, self.times = dataset, times
        self.CLASSES = dataset.CLASSES
        if hasattr(dataset, 'flag'):
            self.flag = np.tile(dataset.flag, times)
        self._ori_len = len(dataset)

    def __getitem__(self, idx):
        return self.dataset[idx % self._ori_len]

    def get_cat_ids(self, idx):
        return self.dataset.get_cat_ids(idx % self._ori_len)

    def __len__(self):
        return self.times * self._ori_len
