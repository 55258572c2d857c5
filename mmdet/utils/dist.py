"""``torch.distributed`` helpers that are no-ops in a single process."""
import datetime
import os

import torch
import torch.distributed as dist


def is_dist():
    return dist.is_available() and dist.is_initialized()


def get_dist_info():
    if is_dist():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_dist(launcher='pytorch', backend=None, timeout_s=1800):
    """Initialise from the environment ``torchrun`` sets (RANK, WORLD_SIZE, ...).

    NCCL on GPU, gloo on CPU.  Collectives time out after ``timeout_s`` so a
    rank that died makes the others fail instead of hanging forever.
    """
    if launcher not in ('pytorch', 'torchrun'):
        raise ValueError(f"launcher '{launcher}' is not supported; use 'pytorch' (torchrun)")
    if 'RANK' not in os.environ:
        raise RuntimeError('--launcher pytorch needs the environment set by torchrun (RANK, WORLD_SIZE, ...)')
    if backend is None:
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    if backend == 'nccl':
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))


def reduce_mean(tensor):
    """Mean of ``tensor`` over all ranks (the tensor itself when not distributed)."""
    if not is_dist():
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor.div_(dist.get_world_size()), op=dist.ReduceOp.SUM)
    return tensor


def all_gather_object(obj):
    """A list with every rank's ``obj``, in rank order."""
    if not is_dist():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, src=0):
    if not is_dist():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def barrier():
    if is_dist():
        dist.barrier()


