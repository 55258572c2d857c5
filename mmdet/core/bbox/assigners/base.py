from dataclasses import dataclass
from typing import Optional

import torch

from mmdet.utils import Registry, build_from_cfg

BBOX_ASSIGNERS = Registry('bbox assigner')


def build_assigner(cfg, default_args=None):
    return build_from_cfg(cfg, BBOX_ASSIGNERS, default_args)


@dataclass
class AssignResult:
    """Outcome of assigning priors to ground truth.

    ``gt_inds[i]``: 0 = background, -1 = ignored, k > 0 = matched to gt ``k - 1``.
    ``labels[i]``: the matched gt's label, -1 elsewhere.
    """
    num_gts: int
    gt_inds: torch.Tensor
    max_overlaps: torch.Tensor
    labels: Optional[torch.Tensor] = None

    @property
    def pos_mask(self):
        return self.gt_inds > 0

    @property
    def neg_mask(self):
        return self.gt_inds == 0
