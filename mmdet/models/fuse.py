"""Inference-time graph simplifications."""
import torch
import torch.nn as nn


def fuse_conv_bn(module):
    """Fold every eval-mode BatchNorm into the conv registered just before it
    (in place; the BatchNorm becomes ``nn.Identity``).  Outputs are unchanged up
    to float rounding; convs that are not plain ``nn.Conv2d`` (deformable ones)
    keep their BatchNorm."""
    last_conv = None
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and isinstance(last_conv, nn.Conv2d):
            scale = child.weight / torch.sqrt(child.running_var + child.eps)
            bias = last_conv.bias if last_conv.bias is not None else torch.zeros_like(child.running_mean)
            last_conv.weight = nn.Parameter((last_conv.weight * scale.view(-1, 1, 1, 1)).detach())
            last_conv.bias = nn.Parameter(((bias - child.running_mean) * scale + child.bias).detach())
            setattr(module, name, nn.Identity())
            last_conv = None
        elif isinstance(child, nn.Conv2d):
            last_conv = child
        else:
            fuse_conv_bn(child)
    return module
