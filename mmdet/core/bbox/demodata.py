"""Random boxes and random-number-generator coercion for tests and demos
(MMDetection 2.x's ``mmdet.core.bbox.demodata``)."""
import numpy as np
import torch


def ensure_rng(rng=None):
    """A ``numpy.random.RandomState`` from ``rng``.

    Args:
        rng (None | int | numpy.random.RandomState): ``None`` gives numpy's global
            state, an int seeds a new state, a state is returned as is.
    """
    if rng is None:
        return np.random.mtrand._rand
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.RandomState(int(rng))
    if isinstance(rng, np.random.RandomState):
        return rng
    raise TypeError(f'rng must be None, an int or a numpy RandomState, got {type(rng).__name__}')


def random_boxes(num=1, scale=1, rng=None):
    """``num`` random valid boxes: a float32 tensor (num, 4) of ``[x1, y1, x2, y2]``
    with ``0 <= x1 <= x2 <= scale`` (likewise y)."""
    rng = ensure_rng(rng)
    corners = rng.rand(num, 4).astype(np.float32)
    lo = np.minimum(corners[:, :2], corners[:, 2:])
    hi = np.maximum(corners[:, :2], corners[:, 2:])
    return torch.from_numpy(np.concatenate([lo, hi], axis=1) * np.float32(scale))
