"""Parameters and FLOPs of a detector, counted by ``torch.utils.flop_counter``."""
import copy

import torch


def model_complexity(model, shape=(1280, 800)):
    """Count ``model.forward_dummy`` (backbone, neck and head, no post-processing)
    on a (1, 3, H, W) input, as MMDetection 2.x's ``get_flops.py`` does.

    Runs on the ``meta`` device (no memory, no real arithmetic).  Convolutions
    and matrix products are counted by torch's flop counter; a deformable conv
    (DCN, DCNv2, the star-shaped one) is computed here as bilinear sampling plus
    one matmul, and that matmul has exactly the multiply-adds of a regular conv
    of the same shape, so it is counted like one (the sampling and the DCNv2
    mask are not counted, as mmcv's counter does not).

    Returns ``dict(params, flops, macs, by_op)``: ``flops`` counts a multiply
    and an add separately, ``macs`` = flops / 2 is what 2.x prints as "Flops".
    """
    from torch.utils.flop_counter import FlopCounterMode
    if not hasattr(model, 'forward_dummy'):
        raise NotImplementedError(f'{type(model).__name__} has no forward_dummy to count')
    params = sum(p.numel() for p in model.parameters())
    meta_model = copy.deepcopy(model).to('meta').eval()
    x = torch.zeros(1, 3, *shape, device='meta')
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta_model.forward_dummy(x)
    by_op = {str(k).replace('aten.', ''): int(v) for k, v in counter.get_flop_counts()['Global'].items()}
    flops = int(counter.get_total_flops())
    return dict(params=params, flops=flops, macs=flops // 2, by_op=by_op)
