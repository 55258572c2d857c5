"""Samplers: aspect-ratio groups (so batches pad little), per-rank shards."""
import math

import numpy as np
import torch
from torch.utils.data import Sampler


class GroupSampler(Sampler):
    """Shuffle within aspect-ratio groups (``dataset.flag``), batch-aligned."""

    def __init__(self, dataset, samples_per_gpu=1, seed=None):
        self.dataset, self.samples_per_gpu = dataset, samples_per_gpu
        self.flag = getattr(dataset, 'flag', np.zeros(len(dataset), dtype=np.uint8)).astype(np.int64)
        self.group_sizes = np.bincount(self.flag)
        self.num_samples = sum(int(math.ceil(s / samples_per_gpu)) * samples_per_gpu for s in self.group_sizes)
        self.epoch, self.seed = 0, seed

    def __iter__(self):
        # np.random follows the global seed (set per run / restored on resume)
        indices = []
        for i, size in enumerate(self.group_sizes):
            if size == 0:
                continue
            idx = np.where(self.flag == i)[0]
            np.random.shuffle(idx)
            extra = int(math.ceil(size / self.samples_per_gpu)) * self.samples_per_gpu - len(idx)
            idx = np.concatenate([idx, np.resize(idx, extra)]) if extra else idx
            indices.append(idx)
        indices = np.concatenate(indices)
        batches = indices.reshape(-1, self.samples_per_gpu)
        batches = batches[np.random.permutation(len(batches))]
        return iter(batches.reshape(-1).astype(np.int64).tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch


class DistributedGroupSampler(Sampler):
    """Group-aware shuffling, the same permutation on every rank (seed + epoch), then sharded."""

    def __init__(self, dataset, samples_per_gpu=1, num_replicas=1, rank=0, seed=0):
        self.dataset, self.samples_per_gpu = dataset, samples_per_gpu
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch, self.seed = 0, 0 if seed is None else seed
        self.flag = getattr(dataset, 'flag', np.zeros(len(dataset), dtype=np.uint8)).astype(np.int64)
        self.group_sizes = np.bincount(self.flag)
        unit = samples_per_gpu * num_replicas
        self.num_samples = sum(int(math.ceil(s / unit)) * samples_per_gpu for s in self.group_sizes)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(self.epoch + self.seed)
        unit = self.samples_per_gpu * self.num_replicas
        indices = []
        for i, size in enumerate(self.group_sizes):
            if size == 0:
                continue
            idx = np.where(self.flag == i)[0]
            idx = idx[torch.randperm(len(idx), generator=g).numpy()]
            need = int(math.ceil(size / unit)) * unit
            indices.append(np.resize(idx, need))
        indices = np.concatenate(indices).reshape(-1, self.samples_per_gpu)
        indices = indices[torch.randperm(len(indices), generator=g).numpy()].reshape(-1)
        start = self.num_samples * self.rank
        return iter(indices[start:start + self.num_samples].astype(np.int64).tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch


class DistributedSampler(Sampler):
    """Rank ``r`` takes indices ``r, r + W, ...`` (padded by wrapping to equal length)."""

    def __init__(self, dataset, num_replicas=1, rank=0, shuffle=False, seed=0):
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.epoch = shuffle, 0 if seed is None else seed, 0
        self.num_samples = int(math.ceil(len(dataset) / num_replicas))
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.epoch + self.seed)
            indices = torch.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        indices = (indices * math.ceil(self.total_size / max(len(indices), 1)))[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch
