"""DataContainer: a sample field with the instructions for collating it (2.x / mmcv 1.x)."""
import torch


class DataContainer:
    """Wraps one field of a sample, saying how :func:`mmdet.parallel.collate` batches it.

    Args:
        data: the field's value (tensor, array, dict, list ...).
        stack (bool): stack the samples' tensors into one batch tensor (padding
            the last ``pad_dims`` dimensions to the largest with ``padding_value``);
            otherwise keep a list.
        padding_value (number): the padding value for ``stack``.
        cpu_only (bool): never moved to a device (e.g. ``img_metas``).
        pad_dims (int | None): how many trailing dimensions are padded (1, 2 or 3);
            None stacks without padding (shapes must then agree).
    """

    def __init__(self, data, stack=False, padding_value=0, cpu_only=False, pad_dims=2):
        if pad_dims not in (None, 1, 2, 3):
            raise ValueError(f'DataContainer pad_dims must be None, 1, 2 or 3, got {pad_dims!r}')
        self._data, self._stack, self._padding_value = data, stack, padding_value
        self._cpu_only, self._pad_dims = cpu_only, pad_dims

    def __repr__(self):
        return f'{type(self).__name__}({self._data!r})'

    def __len__(self):
        return len(self._data)

    @property
    def data(self):
        return self._data

    @property
    def datatype(self):
        return self._data.type() if isinstance(self._data, torch.Tensor) else type(self._data)

    @property
    def cpu_only(self):
        return self._cpu_only

    @property
    def stack(self):
        return self._stack

    @property
    def padding_value(self):
        return self._padding_value

    @property
    def pad_dims(self):
        return self._pad_dims

    def size(self, *args, **kwargs):
        return self._data.size(*args, **kwargs)

    def dim(self):
        return self._data.dim()
