"""2.x's ``force_fp32`` / ``auto_fp16`` method decorators, on torch autocast.

Mixed precision here is torch's autocast (``fp16 = dict(loss_scale=...)`` in a
config), not mmcv's half-precision model copy, so:

- ``auto_fp16`` leaves the call as it is: inside autocast the layers already run
  in half precision;
- ``force_fp32`` runs the method with autocast off and its floating-point tensor
  arguments (those named in ``apply_to``, or all) cast to float32, which is what
  2.x guaranteed to losses and box decoding.  ``out_fp16=True`` casts floating
  tensors of the result back to float16.
"""
import functools
import inspect

import torch

__all__ = ['force_fp32', 'auto_fp16', 'wrap_fp16_model']


def _cast(value, dtype):
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def _autocast_on():
    return any(torch.is_autocast_enabled(d) for d in ('cpu', 'cuda'))


def force_fp32(apply_to=None, out_fp16=False):
    """Decorate a module method so that, under autocast, it runs in float32 on float32 copies of its
    tensor arguments (``apply_to``: the argument names to cast; None casts every argument)."""
    def decorator(func):
        sig = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if not _autocast_on():
                return func(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            for name, value in bound.arguments.items():
                if name != 'self' and (apply_to is None or name in apply_to):
                    bound.arguments[name] = _cast(value, torch.float32)
            with torch.autocast('cuda', enabled=False), torch.autocast('cpu', enabled=False):
                out = func(*bound.args, **bound.kwargs)
            return _cast(out, torch.float16) if out_fp16 else out
        return wrapper
    return decorator


def auto_fp16(apply_to=None, out_fp32=False):
    """Decorate a module method that 2.x ran in half precision; under autocast it already is, so the call is
    unchanged except that ``out_fp32=True`` casts floating tensors of the result to float32."""
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            out = func(*args, **kwargs)
            return _cast(out, torch.float32) if out_fp32 and _autocast_on() else out
        return wrapper
    return decorator


def wrap_fp16_model(model):
    """2.x called this on the model in fp16 mode.  Autocast needs no model change; the ``fp16_enabled`` flags
    that 2.x modules carry are set, for code that reads them."""
    for m in model.modules():
        if hasattr(m, 'fp16_enabled'):
            m.fp16_enabled = True
    return model
