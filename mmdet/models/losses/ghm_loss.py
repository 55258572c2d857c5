"""Gradient Harmonizing Mechanism losses (Li et al., "Gradient Harmonized
Single-stage Detector", AAAI 2019): MMDetection 2.x's ``GHMC`` and ``GHMR``.

Both losses split the valid elements by their gradient norm ``g`` into
``bins`` equal bins of [0, 1] and weight each element by ``tot / (n *
count(its bin))`` (``tot``: the number of valid elements, ``n``: the number of
non-empty bins), so that every populated bin carries the same total weight.
With ``momentum > 0`` the bin counts are exponential moving averages kept in
the buffer ``acc_sum`` (updated only for the bins populated by the current
call).  The bin edges are the buffer ``edges`` (both buffers are in 2.x
checkpoints).

- GHM-C: binary cross-entropy on sigmoid logits; ``g = |sigmoid(pred) - target|``.
- GHM-R: the Authentic Smooth L1 loss ``ASL1(d) = sqrt(d^2 + mu^2) - mu``;
  ``g = |d| / sqrt(d^2 + mu^2)``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet.utils.errors import InvalidArgumentError

from ..builder import LOSSES


def _expand_onehot_labels(labels, label_weights, label_channels):
    """Class indices (N,) (``label_channels`` or more = background) and weights (N,)
    -> binary targets (N, C) and weights (N, C)."""
    bin_labels = labels.new_zeros((labels.size(0), label_channels))
    fg = (labels >= 0) & (labels < label_channels)
    bin_labels[fg.nonzero(as_tuple=False).squeeze(1), labels[fg]] = 1
    bin_label_weights = label_weights.view(-1, 1).expand(label_weights.size(0), label_channels)
    return bin_labels, bin_label_weights


def gradient_density_weights(g, valid, edges, tot, acc_sum=None, momentum=0.):
    """The GHM weight of every element.

    Args:
        g (Tensor): gradient norms (any shape), in [0, 1].
        valid (Tensor): bool, same shape: the elements that count.
        edges (Tensor): (bins + 1,) bin edges; element in bin i iff
            ``edges[i] <= g < edges[i + 1]``.
        tot (float): the normaliser (number of valid elements, at least 1).
        acc_sum (Tensor | None): (bins,) moving-average bin counts, updated
            in place when ``momentum > 0``.
        momentum (float): the moving-average momentum.

    Returns:
        Tensor: weights, shape of ``g``; 0 for invalid elements.
    """
    bins = edges.numel() - 1
    idx = torch.bucketize(g.to(edges.dtype), edges, right=True) - 1  # edges[idx] <= g < edges[idx + 1]
    valid = valid & (idx >= 0) & (idx < bins)
    counts = torch.bincount(idx[valid], minlength=bins).to(g.dtype)
    populated = counts > 0
    n = int(populated.sum())
    weights = torch.zeros_like(g)
    if n == 0:
        return weights
    if momentum > 0:
        acc_sum.copy_(torch.where(populated, momentum * acc_sum + (1 - momentum) * counts, acc_sum))
        per_bin = tot / acc_sum
    else:
        per_bin = tot / counts.clamp(min=1)
    weights[valid] = per_bin[idx[valid]].to(g.dtype)
    return weights / n


@LOSSES.register_module()
class GHMC(nn.Module):
    """GHM classification loss (sigmoid BCE with gradient-density weights).

    Args:
        bins (int): number of gradient-norm bins.
        momentum (float): moving average of the bin counts (0: none).
        use_sigmoid (bool): must be True (only the BCE form exists).
        loss_weight (float): scale of the loss.

    ``forward(pred, target, label_weight)``: logits (N, C), binary targets
    (N, C) or class indices (N,) (C = background), weights (N, C) or (N,);
    returns ``sum(weights * BCE) / tot`` times ``loss_weight`` (``avg_factor``
    and the like are accepted and ignored, as in 2.x).
    """

    def __init__(self, bins=10, momentum=0, use_sigmoid=True, loss_weight=1.0):
        super().__init__()
        if not (isinstance(bins, int) and bins > 0):
            raise InvalidArgumentError(f'GHMC bins must be a positive int, got {bins!r}')
        if not use_sigmoid:
            raise NotImplementedError('GHMC: only use_sigmoid=True is implemented')
        self.bins, self.momentum = bins, momentum
        edges = torch.arange(bins + 1).float() / bins
        edges[-1] += 1e-6
        self.register_buffer('edges', edges)
        if momentum > 0:
            self.register_buffer('acc_sum', torch.zeros(bins))
        self.use_sigmoid, self.loss_weight = use_sigmoid, loss_weight

    def forward(self, pred, target, label_weight, *args, **kwargs):
        if pred.dim() != target.dim():
            target, label_weight = _expand_onehot_labels(target, label_weight, pred.size(-1))
        target, label_weight = target.float(), label_weight.float()
        g = (pred.sigmoid().detach() - target).abs()
        valid = label_weight > 0
        tot = max(valid.float().sum().item(), 1.0)
        weights = gradient_density_weights(g, valid, self.edges, tot, getattr(self, 'acc_sum', None),
                                           self.momentum)
        loss = F.binary_cross_entropy_with_logits(pred, target, weights, reduction='sum') / tot
        return loss * self.loss_weight


@LOSSES.register_module()
class GHMR(nn.Module):
    """GHM regression loss (Authentic Smooth L1 with gradient-density weights).

    Args:
        mu (float): the ASL1 parameter.
        bins (int): number of gradient-norm bins (the last edge is 1e3).
        momentum (float): moving average of the bin counts (0: none).
        loss_weight (float): scale of the loss.

    ``forward(pred, target, label_weight, avg_factor=None)``: (N, 4k) each;
    returns ``sum(weights * ASL1) / tot`` times ``loss_weight``, ``tot`` the
    sum of ``label_weight`` (at least 1); ``avg_factor`` is ignored, as in 2.x.
    """

    def __init__(self, mu=0.02, bins=10, momentum=0, loss_weight=1.0):
        super().__init__()
        if not (isinstance(bins, int) and bins > 0):
            raise InvalidArgumentError(f'GHMR bins must be a positive int, got {bins!r}')
        self.mu, self.bins = mu, bins
        edges = torch.arange(bins + 1).float() / bins
        edges[-1] = 1e3
        self.register_buffer('edges', edges)
        self.momentum = momentum
        if momentum > 0:
            self.register_buffer('acc_sum', torch.zeros(bins))
        self.loss_weight = loss_weight

    def forward(self, pred, target, label_weight, avg_factor=None):
        mu = self.mu
        diff = pred - target
        loss = torch.sqrt(diff * diff + mu * mu) - mu
        g = (diff / torch.sqrt(mu * mu + diff * diff)).abs().detach()
        valid = label_weight > 0
        tot = max(label_weight.float().sum().item(), 1.0)
        weights = gradient_density_weights(g, valid, self.edges, tot, getattr(self, 'acc_sum', None),
                                           self.momentum)
        return (loss * weights).sum() / tot * self.loss_weight
