"""``MultiImageMixDataset`` (MMDetection 2.28): a dataset wrapper whose pipeline may mix other samples
into each one (``Mosaic``, ``MixUp``).

The wrapped dataset's own pipeline loads a sample (typically ``LoadImageFromFile`` and
``LoadAnnotations``); this wrapper's pipeline then runs on it.  Before a transform that has
``get_indexes(dataset)``, the samples at those indexes are loaded from the wrapped dataset and passed as
``results['mix_results']``.
"""
import collections.abc
import copy

from mmdet.utils import build_from_cfg

from .builder import DATASETS
from .pipelines.compose import PIPELINES


@DATASETS.register_module()
class MultiImageMixDataset:
    """A dataset whose pipeline mixes several samples.

    Args:
        dataset: the wrapped dataset (built; ``build_dataset`` builds a config first).
        pipeline (list[dict | callable]): the transforms run on each loaded sample.
        dynamic_scale: removed in 2.x (use a ``Resize`` step); must be None.
        skip_type_keys (list[str] | None): transform type names to skip (YOLOX switches Mosaic and MixUp
            off for the last epochs with :meth:`update_skip_type_keys`).
        max_refetch (int): how many times to draw other samples, and to rerun a transform that returned
            None, before giving up with an error.

    Attributes: ``CLASSES``, ``PALETTE`` and ``flag`` (aspect-ratio groups) of the wrapped dataset.
    """

    WRAPS = 'dataset'

    def __init__(self, dataset, pipeline, dynamic_scale=None, skip_type_keys=None, max_refetch=15):
        if dynamic_scale is not None:
            raise RuntimeError('MultiImageMixDataset: dynamic_scale is deprecated (as in MMDetection 2.x); '
                               f'got dynamic_scale={dynamic_scale!r}: put a Resize step in the pipeline instead')
        if not isinstance(pipeline, collections.abc.Sequence) or isinstance(pipeline, str):
            raise TypeError(f'MultiImageMixDataset: pipeline must be a list of transforms, got {pipeline!r}')
        if not (isinstance(max_refetch, int) and max_refetch > 0):
            raise ValueError(f'MultiImageMixDataset: max_refetch must be a positive int, got {max_refetch!r}')
        self._skip_type_keys = self._check_skip(skip_type_keys)
        self.pipeline, self.pipeline_types = [], []
        for step in pipeline:
            if isinstance(step, dict):
                self.pipeline_types.append(step['type'] if isinstance(step.get('type'), str)
                                           else getattr(step.get('type'), '__name__', None))
                step = build_from_cfg(step, PIPELINES)
            elif callable(step):
                self.pipeline_types.append(type(step).__name__)
            else:
                raise TypeError(f'MultiImageMixDataset: pipeline step {step!r} is neither a config dict nor callable')
            self.pipeline.append(step)
        self.dataset = dataset
        self.CLASSES = dataset.CLASSES
        self.PALETTE = getattr(dataset, 'PALETTE', None)
        if hasattr(dataset, 'flag'):
            self.flag = dataset.flag
        self.num_samples = len(dataset)
        self.max_refetch = max_refetch

    @staticmethod
    def _check_skip(skip_type_keys):
        if skip_type_keys is not None and not (isinstance(skip_type_keys, (list, tuple))
                                               and all(isinstance(k, str) for k in skip_type_keys)):
            raise TypeError(f'MultiImageMixDataset: skip_type_keys must be a list of transform type names, '
                            f'got {skip_type_keys!r}')
        return skip_type_keys

    def __len__(self):
        return self.num_samples

    def _load_others(self, transform):
        for _ in range(self.max_refetch):
            indexes = transform.get_indexes(self.dataset)
            if not isinstance(indexes, collections.abc.Sequence):
                indexes = [indexes]
            others = [copy.deepcopy(self.dataset[i]) for i in indexes]
            if None not in others:
                return others
        raise RuntimeError(f'MultiImageMixDataset: the pipeline of {type(self.dataset).__name__} returned None for '
                           f'the samples {type(transform).__name__} asked for, {self.max_refetch} times in a row; '
                           'check that dataset and its pipeline')

    def __getitem__(self, idx):
        results = copy.deepcopy(self.dataset[idx])
        for transform, transform_type in zip(self.pipeline, self.pipeline_types):
            if self._skip_type_keys is not None and transform_type in self._skip_type_keys:
                continue
            if hasattr(transform, 'get_indexes'):
                results['mix_results'] = self._load_others(transform)
            for _ in range(self.max_refetch):
                updated = transform(copy.deepcopy(results))
                if updated is not None:
                    results = updated
                    break
            else:
                raise RuntimeError(f'MultiImageMixDataset: {transform_type} returned None {self.max_refetch} times '
                                   f'in a row for sample {idx}; check the pipeline')
            results.pop('mix_results', None)
        return results

    def update_skip_type_keys(self, skip_type_keys):
        """Skip the transforms of these type names from now on (called by a hook)."""
        self._skip_type_keys = self._check_skip(skip_type_keys)

    def __repr__(self):
        return (f'{type(self).__name__}({len(self)} samples of {type(self.dataset).__name__}, '
                f'pipeline={self.pipeline_types}, skip_type_keys={self._skip_type_keys})')
