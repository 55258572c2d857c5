"""``mmcv.ops`` names of the dense detectors (deformable convs, NMS, focal loss), on torchvision.ops."""
import torch.nn.functional as F

from mmdet.models.losses.focal_loss import sigmoid_focal_loss as _focal
from mmdet.ops import DeformConv2d, DeformConv2dPack, ModulatedDeformConv2dPack, batched_nms, nms, soft_nms

from ._missing import missing

__all__ = ['DeformConv2d', 'DeformConv2dPack', 'ModulatedDeformConv2dPack', 'batched_nms', 'nms', 'soft_nms',
           'sigmoid_focal_loss']


def sigmoid_focal_loss(input, target, gamma=2.0, alpha=0.25, weight=None, reduction='mean'):
    """mmcv's op: logits ``input`` (N, C), class indices ``target`` (N,) with ``C`` meaning background,
    optional per-class ``weight`` (C,); ``reduction`` none / mean / sum ('none' gives (N, C))."""
    num_classes = input.size(1)
    onehot = F.one_hot(target.long(), num_classes + 1)[:, :num_classes]
    loss = _focal(input, onehot, None, gamma, alpha, 'none')
    if weight is not None:
        if weight.dim() != 1 or weight.numel() != num_classes:
            raise ValueError(f'sigmoid_focal_loss: weight must be ({num_classes},), got {tuple(weight.shape)}')
        loss = loss * weight[None]
    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.sum() / input.size(0)  # mmcv's op divides the sum by the number of samples
    if reduction == 'sum':
        return loss.sum()
    raise ValueError(f"sigmoid_focal_loss: reduction must be none, mean or sum, got {reduction!r}")


def __getattr__(name):
    return missing('mmcv.ops', name)
