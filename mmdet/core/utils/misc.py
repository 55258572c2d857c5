"""Small helpers of MMDetection 2.x's ``mmdet.core.utils.misc``."""
from functools import partial

import numpy as np
import torch


def multi_apply(func, *args, **kwargs):
    """Apply ``func`` to each tuple of the zipped ``args`` and regroup the results by output.

    ``func(a_i, b_i, ..., **kwargs)`` must return a tuple of K outputs; the result
    is a tuple of K lists, the k-th holding output k of every call.

    Example:
        >>> multi_apply(lambda x, y, s=1: (x + y, s * x), [1, 2], [10, 20], s=3)
        ([11, 22], [3, 6])
    """
    pfunc = partial(func, **kwargs) if kwargs else func
    return tuple(map(list, zip(*map(pfunc, *args))))


def unmap(data, count, inds, fill=0):
    """Scatter a subset back to the full set.

    Args:
        data (Tensor): (M, ...) values of the selected items.
        count (int): size of the full set.
        inds (Tensor): (count,) mask (bool or 0/1) of the M selected items.
        fill (number): value of the unselected items.

    Returns:
        Tensor: (count, ...), ``data`` where ``inds`` is set, ``fill`` elsewhere.
    """
    mask = inds.to(torch.bool)
    if mask.dim() != 1 or mask.numel() != count:
        raise ValueError(f'inds must be a mask of shape ({count},), got {tuple(inds.shape)}')
    ret = data.new_full((count,) + tuple(data.shape[1:]), fill)
    ret[mask] = data
    return ret


def tensor2imgs(tensor, mean=(0, 0, 0), std=(1, 1, 1), to_rgb=True):
    """Undo the normalisation of an image batch.

    Args:
        tensor (Tensor): (N, C, H, W) normalised images (C = 3, or 1 with 1-element mean/std).
        mean, std (sequence of float): the normalisation's per-channel mean and std.
        to_rgb (bool): the images were converted BGR -> RGB by the normalisation,
            so convert them back to BGR.

    Returns:
        list[ndarray]: N uint8 arrays (H, W, C).
    """
    if tensor.dim() != 4:
        raise ValueError(f'tensor2imgs expects (N, C, H, W), got shape {tuple(tensor.shape)}')
    channels = tensor.size(1)
    if len(mean) != channels or len(std) != channels:
        raise ValueError(f'mean and std need {channels} values, got {len(mean)} and {len(std)}')
    imgs = tensor.detach().permute(0, 2, 3, 1).cpu().float().numpy()
    imgs = imgs * np.asarray(std, dtype=np.float32) + np.asarray(mean, dtype=np.float32)
    if to_rgb and channels == 3:
        imgs = imgs[..., ::-1]
    imgs = np.clip(np.round(imgs), 0, 255).astype(np.uint8)
    return [np.ascontiguousarray(img) for img in imgs]
