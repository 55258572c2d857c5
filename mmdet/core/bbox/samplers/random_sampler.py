"""Uniform random sampling of positives and negatives (MMDetection 2.x's ``RandomSampler``)."""
import numpy as np
import torch

from ..builder import BBOX_SAMPLERS
from .base_sampler import BaseSampler


@BBOX_SAMPLERS.register_module()
class RandomSampler(BaseSampler):
    """Up to ``num * pos_fraction`` positives drawn uniformly, the rest of ``num``
    filled with uniformly drawn negatives (see :class:`BaseSampler`).

    Args:
        num (int): boxes per image.
        pos_fraction (float): wanted fraction of positives.
        neg_pos_ub (int): negatives <= ``neg_pos_ub * max(1, #pos)``; -1 = no bound.
        add_gt_as_proposals (bool): sample from the gt boxes too. Default True.
        rng: kept as ``self.rng`` (a numpy state) as 2.x; the draws themselves use
            ``torch.randperm`` (seed with ``torch.manual_seed``).
    """

    def __init__(self, num, pos_fraction, neg_pos_ub=-1, add_gt_as_proposals=True, **kwargs):
        from ..demodata import ensure_rng
        super().__init__(num, pos_fraction, neg_pos_ub, add_gt_as_proposals)
        self.rng = ensure_rng(kwargs.get('rng', None))

    def random_choice(self, gallery, num):
        """``num`` distinct elements of ``gallery`` in random order.

        Args:
            gallery (Tensor | ndarray | list): the pool (e.g. indices).
            num (int): how many to take; at most ``len(gallery)``.

        Returns:
            Tensor for a Tensor gallery, else ndarray.
        """
        if len(gallery) < num:
            raise ValueError(f'cannot choose {num} elements from a gallery of {len(gallery)}')
        is_tensor = isinstance(gallery, torch.Tensor)
        if not is_tensor:
            gallery = torch.as_tensor(np.asarray(gallery), dtype=torch.long)
        perm = torch.randperm(gallery.numel(), device=gallery.device)[:num]
        chosen = gallery[perm]
        return chosen if is_tensor else chosen.cpu().numpy()

    def _sample_pos(self, assign_result, num_expected, **kwargs):
        """Random positives (``gt_inds > 0``), at most ``num_expected``."""
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).view(-1)
        return pos_inds if pos_inds.numel() <= num_expected else self.random_choice(pos_inds, num_expected)

    def _sample_neg(self, assign_result, num_expected, **kwargs):
        """Random negatives (``gt_inds == 0``), at most ``num_expected``."""
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).view(-1)
        return neg_inds if neg_inds.numel() <= num_expected else self.random_choice(neg_inds, num_expected)
