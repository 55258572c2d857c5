import torch.nn as nn
import torch.nn.functional as F

from mmdet.utils.errors import InvalidArgumentError

from ..builder import LOSSES
from .utils import check_loss_args, resolve_reduction, weight_reduce_loss


@LOSSES.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax CE on class indices, or sigmoid BCE (``use_sigmoid=True``) on
    binary targets of the same shape as ``pred`` (e.g. centerness)."""

    def __init__(self, use_sigmoid=False, use_mask=False, reduction='mean', class_weight=None, loss_weight=1.0):
        super().__init__()
        name = type(self).__name__
        if use_mask:
            raise InvalidArgumentError(f'{name} use_mask=True (mask cross-entropy) is not part of this toolbox '
                                       f'(no mask heads), got use_mask={use_mask!r}')
        check_loss_args(name, reduction, loss_weight)
        self.use_sigmoid, self.reduction = use_sigmoid, reduction
        self.class_weight, self.loss_weight = class_weight, loss_weight

    def forward(self, cls_score, label, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        cw = None if self.class_weight is None else cls_score.new_tensor(self.class_weight)
        if self.use_sigmoid:
            if label.shape != cls_score.shape:
                n = cls_score.size(-1)
                valid = (label >= 0) & (label < n)
                onehot = F.one_hot(label.clamp(0, n), n + 1)[..., :n].float() * valid[..., None]
                if weight is not None:
                    weight = weight.view(-1, 1).expand(onehot.shape).float()
                label = onehot
            loss = F.binary_cross_entropy_with_logits(cls_score, label.float(), pos_weight=cw, reduction='none')
        else:
            loss = F.cross_entropy(cls_score, label, weight=cw, reduction='none')
        if weight is not None:
            weight = weight.float()
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
