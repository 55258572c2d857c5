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


def dist_kwargs(dist_params):
    """``init_dist`` arguments from a config's 2.x ``dist_params`` (``dict(backend='nccl')`` in every
    default_runtime.py, ``port`` for slurm/mpi, ``timeout_s``): the config's backend where it can run,
    so NCCL on a GPU machine, and gloo on a machine without CUDA even when the config says ``'nccl'``
    (2.x configs always do; an error there would stop every CPU run).  Other keys are an error."""
    params = dict(dist_params or {})
    unknown = set(params) - {'backend', 'port', 'timeout_s'}
    if unknown:
        raise ValueError(f'dist_params: unknown key(s) {sorted(unknown)}; known: backend, port, timeout_s')
    backend = params.get('backend')
    if backend not in (None, 'nccl', 'gloo', 'mpi'):
        raise ValueError(f"dist_params.backend must be 'nccl', 'gloo' or 'mpi', got {backend!r}")
    if backend == 'nccl' and not torch.cuda.is_available():
        params['backend'] = 'gloo'
    return params


def init_dist(launcher='pytorch', backend=None, timeout_s=1800, port=None):
    """Join the process group: ``pytorch`` reads the environment ``torchrun`` sets
    (RANK, WORLD_SIZE, MASTER_ADDR, ...), on one node or many; ``slurm`` derives
    it from SLURM's variables as MMDetection 2.x does (SLURM_PROCID, SLURM_NTASKS,
    SLURM_LOCALID, SLURM_NODELIST; MASTER_PORT from ``port``, the environment or 29500);
    ``mpi`` (``mpirun -np N python tools/train.py CFG --launcher mpi``) from Open MPI's
    OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK (or MPICH's PMI_RANK/PMI_SIZE), MASTER_ADDR
    from the environment or 127.0.0.1 (one node) and MASTER_PORT as for slurm.

    NCCL on GPU, gloo on CPU.  Collectives time out after ``timeout_s`` so a
    rank that died makes the others fail instead of hanging forever.
    """
    if launcher == 'slurm':
        _slurm_env(port)
    elif launcher == 'mpi':
        _mpi_env(port)
    elif launcher not in ('pytorch', 'torchrun'):
        raise ValueError(f"launcher '{launcher}' is not supported; use 'pytorch' (torchrun), 'slurm' or 'mpi'")
    if 'RANK' not in os.environ:
        raise RuntimeError('--launcher pytorch needs the environment set by torchrun (RANK, WORLD_SIZE, ...)')
    if backend is None:
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    if backend == 'nccl':
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))


def _slurm_env(port=None):
    """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from a SLURM task's variables."""
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST') if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher slurm needs the variables srun sets; missing {missing}')
    proc_id, ntasks = int(os.environ['SLURM_PROCID']), int(os.environ['SLURM_NTASKS'])
    gpus = torch.cuda.device_count()
    local = os.environ.get('SLURM_LOCALID')
    local = int(local) if local is not None else proc_id
    local = local % gpus if gpus else 0  # one GPU per task when SLURM binds them
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = _first_slurm_host(os.environ['SLURM_NODELIST'])
    os.environ.update(WORLD_SIZE=str(ntasks), RANK=str(proc_id), LOCAL_RANK=str(local))


def _mpi_env(port=None):
    """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from an MPI process's variables."""
    env = os.environ
    if 'OMPI_COMM_WORLD_RANK' in env:
        rank, size = int(env['OMPI_COMM_WORLD_RANK']), int(env.get('OMPI_COMM_WORLD_SIZE', 1))
        local = int(env.get('OMPI_COMM_WORLD_LOCAL_RANK', rank))
    elif 'PMI_RANK' in env:
        rank, size = int(env['PMI_RANK']), int(env.get('PMI_SIZE', 1))
        local = int(env.get('MPI_LOCALRANKID', rank))
    else:
        raise RuntimeError('--launcher mpi needs the variables mpirun sets (OMPI_COMM_WORLD_RANK/SIZE or '
                           'PMI_RANK/PMI_SIZE); start the tool with mpirun -np N')
    gpus = torch.cuda.device_count()
    local = local % gpus if gpus else 0  # as MMDetection 2.x: rank % number of GPUs
    if port is not None:
        env['MASTER_PORT'] = str(port)
    env.setdefault('MASTER_PORT', '29500')
    env.setdefault('MASTER_ADDR', '127.0.0.1')
    env.update(WORLD_SIZE=str(size), RANK=str(rank), LOCAL_RANK=str(local))


def _first_slurm_host(node_list):
    """The first host of a SLURM node list (``scontrol show hostnames`` when there is one)."""
    import shutil
    import subprocess
    if shutil.which('scontrol'):
        out = subprocess.run(['scontrol', 'show', 'hostnames', node_list], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.split():
            return out.stdout.split()[0]
    first = node_list.split(',')[0]
    if '[' in first:  # node[01-04] without scontrol: expand the first entry by hand
        prefix, rest = first.split('[', 1)
        first = prefix + rest.split('-')[0].split(',')[0].rstrip(']')
    return first


def reduce_mean(tensor):
    """Mean of ``tensor`` over all ranks (the tensor itself when not distributed)."""
    if not is_dist():
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor.div_(dist.get_world_size()), op=dist.ReduceOp.SUM)
    return tensor


def average_over_ranks_(tensors):
    """Replace each floating-point tensor of ``tensors`` by its mean over the ranks, in place, with one
    all-reduce of all of them flattened (float32, or float64 if any is).  A collective: every rank calls it
    with the same tensors.  Nothing happens in a single process or a world of one."""
    if not is_dist() or dist.get_world_size() < 2 or not tensors:
        return
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    with torch.no_grad():
        flat = torch.cat([t.detach().to(dtype).flatten() for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= dist.get_world_size()
        for t, part in zip(tensors, torch.split(flat, [t.numel() for t in tensors])):
            t.copy_(part.view_as(t))


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


def close_dist():
    """Destroy the default process group if one is up.  A process that exits with a gloo/NCCL group still
    alive can abort in the backend's threads at interpreter exit ("terminate called without an active
    exception", SIGABRT), failing a run that had finished."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
