"""Loss reduction helpers, and the argument checks the 2.x losses assert.

Bad arguments raise :class:`mmdet.utils.InvalidArgumentError` (a ``ValueError``
and an ``AssertionError``), naming the loss, the argument and the value.
"""
import functools
import numbers

from mmdet.utils.errors import InvalidArgumentError

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(owner, reduction):
    """A loss's ``reduction``: one of 'none', 'mean', 'sum'."""
    if not (isinstance(reduction, str) and reduction in REDUCTIONS):
        raise InvalidArgumentError(f"{owner} reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def resolve_reduction(module, reduction_override):
    """2.x: ``assert reduction_override in (None, 'none', 'mean', 'sum')``; the override, else the module's."""
    if reduction_override is not None and not (isinstance(reduction_override, str)
                                               and reduction_override in REDUCTIONS):
        raise InvalidArgumentError(f"{type(module).__name__} reduction_override must be None, 'none', 'mean' "
                                   f"or 'sum', got {reduction_override!r}")
    return reduction_override or module.reduction


def check_loss_args(owner, reduction, loss_weight):
    """The common constructor arguments: ``reduction`` and a real-number ``loss_weight``."""
    check_reduction(owner, reduction)
    if not (isinstance(loss_weight, numbers.Real) and not isinstance(loss_weight, bool)):
        raise InvalidArgumentError(f'{owner} loss_weight must be a number, got {loss_weight!r}')


def check_use_sigmoid(owner, use_sigmoid):
    """2.x: ``assert use_sigmoid is True`` (only the sigmoid form is implemented)."""
    if use_sigmoid is not True:
        raise InvalidArgumentError(f'{owner} supports only use_sigmoid=True, got use_sigmoid={use_sigmoid!r}')


def check_same_size(owner, pred, target):
    if pred.size() != target.size():
        raise InvalidArgumentError(f'{owner}: pred {tuple(pred.shape)} and target {tuple(target.shape)} '
                                   f'must have the same shape')



def reduce_loss(loss, reduction):
    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    raise InvalidArgumentError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def weight_reduce_loss(loss, weight=None, reduction='mean', avg_factor=None):
    """Element-wise weight, then reduce; ``avg_factor`` replaces the element count in the mean."""
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'mean':
        return loss.sum() / avg_factor
    if reduction != 'none':
        raise InvalidArgumentError(f'avg_factor can not be used with reduction="{reduction}" (only with '
                                   f"'mean' or 'none'), got avg_factor={avg_factor!r}")
    return loss


def weighted_loss(loss_func):
    """Give an element-wise ``loss_func(pred, target, **kw)`` the
    ``weight, reduction, avg_factor`` arguments."""
    @functools.wraps(loss_func)
    def wrapper(pred, target, weight=None, reduction='mean', avg_factor=None, **kwargs):
        return weight_reduce_loss(loss_func(pred, target, **kwargs), weight, reduction, avg_factor)
    return wrapper
