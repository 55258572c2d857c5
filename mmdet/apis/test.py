"""Run a detector over a data loader: one process, or sharded over ranks.

The loops live in :mod:`mmdet.runner.test_loop` (the evaluation hook runs them without importing the
training API); ``mmdet.apis`` is their 2.x import path."""
import numpy as np

from mmdet.runner.test_loop import inference_autocast, multi_gpu_test, single_gpu_test  # noqa: F401 (2.x path)
from mmdet.utils.errors import InvalidArgumentError


def results_equal(a, b, atol=1e-5):
    """Whether two result lists hold the same detections (for tests and tools)."""
    return len(a) == len(b) and all(
        len(x) == len(y) and all(np.allclose(u, v, atol=atol) for u, v in zip(x, y)) for x, y in zip(a, b))


def build_test_dataset(cfg):
    """The config's ``data.test`` dataset in test mode."""
    import copy

    from mmdet.datasets import build_dataset
    test_cfg = copy.deepcopy(cfg.data.test)
    test_cfg.pop('samples_per_gpu', None)
    return build_dataset(test_cfg, dict(test_mode=True))


def load_results(path, dataset):
    """Results saved by ``tools/test.py --out``, checked against ``dataset``'s size."""
    import pickle
    with open(path, 'rb') as f:
        results = pickle.load(f)
    if len(results) != len(dataset):
        raise InvalidArgumentError(f'{path} holds {len(results)} results but the test set has {len(dataset)} images: '
                         'was it made with this config?')
    return results
