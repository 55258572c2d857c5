"""NumClassCheckHook (2.x, ``custom_hooks = [dict(type='NumClassCheckHook')]`` in
``_base_/default_runtime.py``): fail before training or validation when a head's
``num_classes`` does not match the dataset's ``CLASSES``."""
import warnings

from mmdet.utils.errors import InvalidArgumentError

from .base import HOOKS, Hook


def check_num_classes(model, dataset):
    """Raise :class:`InvalidArgumentError` (a ``ValueError`` and an ``AssertionError``,
    as 2.x raised) when a module of ``model`` with a ``num_classes`` attribute
    disagrees with ``len(dataset.CLASSES)``; warn when the dataset has no CLASSES.

    Args:
        model (nn.Module): the detector (possibly wrapped in DDP).
        dataset: a dataset with a ``CLASSES`` tuple of names.
    """
    classes = getattr(dataset, 'CLASSES', None)
    dname = type(dataset).__name__
    if classes is None:
        warnings.warn(f'{dname} has no CLASSES: the num_classes of the heads are not checked', UserWarning)
        return
    if isinstance(classes, str):
        raise InvalidArgumentError(f'CLASSES of {dname} must be a tuple of str, got the string {classes!r}; for one '
                               f"class write CLASSES = ('{classes}',)")
    mname = type(getattr(model, 'module', model)).__name__
    for name, module in model.named_modules():
        n = getattr(module, 'num_classes', None)
        if isinstance(n, int) and n != len(classes):
            raise InvalidArgumentError(f'The num_classes ({n}) of {type(module).__name__} ({name or "the model"}) '
                                   f'of {mname} does not match the {len(classes)} CLASSES of {dname}: set '
                                   f'model.bbox_head.num_classes={len(classes)} or give the dataset classes=[...]')


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Checks the heads' ``num_classes`` against the data loader's dataset at the
    start of every train and val epoch (2.x's hook of the same name)."""

    def _check(self, runner):
        loader = getattr(runner, 'data_loader', None)
        if loader is not None:
            check_num_classes(runner.model, loader.dataset)

    def before_train_epoch(self, runner):
        self._check(runner)

    def before_val_epoch(self, runner):
        self._check(runner)
