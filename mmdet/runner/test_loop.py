"""The test loops: a detector over a data loader, in one process or sharded over ranks.

2.x import path: ``mmdet.apis.single_gpu_test`` / ``multi_gpu_test``.  Batches are 2.x's (collated
DataContainers) or already plain; the model is the detector or a wrapper with ``.module``.
"""
import os.path as osp

import torch
from tqdm import tqdm

from mmdet.parallel import scatter
from mmdet.utils import all_gather_object, get_dist_info


def _device_of(model):
    return next(model.parameters()).device


def inference_autocast(device, enabled=True):
    """``--amp`` at inference: bfloat16 autocast on the CPU, float16 on CUDA
    (decoding and NMS stay in float32, see ``float_outputs``)."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16 if device.type == 'cpu' else torch.float16,
                          enabled=enabled)


def _draw(model, data, results, out_dir, score_thr):
    metas = data['img_metas'][0] if isinstance(data['img_metas'][0], list) else data['img_metas']
    for meta, res in zip(metas, results):
        import cv2
        img = cv2.imread(meta['filename'])
        model.show_result(img, res, score_thr=score_thr, out_file=osp.join(out_dir, meta['ori_filename']))


def single_gpu_test(model, data_loader, show=False, out_dir=None, show_score_thr=0.3, show_progress=True):
    """Results in dataset order (per image, per class (k, 5) arrays)."""
    module = model.module if hasattr(model, 'module') else model
    module.eval()
    device = _device_of(module)
    results = []
    bar = tqdm(total=len(data_loader.dataset), desc='test', unit='img', disable=not show_progress, leave=False,
               dynamic_ncols=True)
    for data in data_loader:
        data = scatter(data, device)
        with torch.no_grad():
            res = module(return_loss=False, rescale=True, **data)
        if show or out_dir:
            if show:
                raise RuntimeError('--show needs a display; use --show-dir to write the drawings')
            _draw(module, data, res, out_dir, show_score_thr)
        results.extend(res)
        bar.update(len(res))
    bar.close()
    return results


def multi_gpu_test(model, data_loader, tmpdir=None, gpu_collect=False):
    """Each rank tests its shard (``DistributedSampler``: rank r takes r, r+W, ...);
    the shards are gathered and interleaved back into dataset order on every
    rank, so N processes give exactly the results of one."""
    module = model.module if hasattr(model, 'module') else model
    rank, world = get_dist_info()
    part = single_gpu_test(module, data_loader, show_progress=rank == 0)
    parts = all_gather_object(part)
    ordered = []
    for items in zip(*parts):  # the sampler pads every shard to equal length
        ordered.extend(items)
    return ordered[:len(data_loader.dataset)]
