#!/usr/bin/env python
"""Time one training step (forward + loss + backward) of a detector.

    python tools/analysis_tools/benchmark_train_step.py configs/vfnet/vfnet_r50_fpn_1x_coco.py \
        --shape 800 1216 --repeat 5 [--dcn-impl torchvision]

Prints the median seconds per step, the peak memory, the device, thread count
and torch version.  ``--dcn-impl sampled|torchvision`` makes CPU runs use the
grid_sample form or torchvision's deformable conv instead of the default
gathered form, to compare them on the same machine.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmdet.models import build_detector  # noqa: E402
from mmdet.ops import deform_conv  # noqa: E402
from mmdet.utils import Config  # noqa: E402
from mmdet.utils.host import peak_memory_mb  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--shape', type=int, nargs=2, default=[800, 1216], help='padded input H W')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument('--dcn-impl', choices=sorted(deform_conv.CPU_IMPLS), default=deform_conv.CPU_IMPL,
                   help='form of the CPU deformable conv')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = p.parse_args(argv)
    deform_conv.CPU_IMPL = args.dcn_impl
    cfg = Config.fromfile(args.config)
    cfg.model.pretrained = None
    model = build_detector(cfg.model).to(args.device).train()
    h, w = args.shape
    g = torch.Generator().manual_seed(0)
    img = torch.randn(args.batch, 3, h, w, generator=g).to(args.device)
    metas = [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), batch_input_shape=(h, w),
                  scale_factor=np.ones(4, np.float32), flip=False)] * args.batch
    boxes = [torch.tensor([[50., 60., 400., 500.], [600., 100., 1000., 700.], [300., 300., 360., 380.]],
                          device=args.device)] * args.batch
    labels = [torch.tensor([0, 5, 9], device=args.device)] * args.batch
    times = []
    for i in range(args.repeat + 1):
        if args.device.startswith('cuda'):
            torch.cuda.synchronize(args.device)
        t = time.perf_counter()
        losses = model.forward_train(img, [dict(m) for m in metas], boxes, labels)
        model._parse_losses(losses)[0].backward()  # losses may be per-level lists (2.x anchor heads)
        model.zero_grad(set_to_none=True)
        if args.device.startswith('cuda'):
            torch.cuda.synchronize(args.device)
        if i:  # the first step warms up
            times.append(time.perf_counter() - t)
    print(f'{osp.basename(args.config)} {args.batch}x3x{h}x{w} on {args.device} (dcn: '
          f'{"torchvision" if args.device.startswith("cuda") else args.dcn_impl}, '
          f'{torch.get_num_threads()} threads, torch {torch.__version__}): median {statistics.median(times):.3f} '
          f's/step over {len(times)} steps (min {min(times):.3f}); peak memory {peak_memory_mb(args.device):.0f} MB')


if __name__ == '__main__':
    main()
