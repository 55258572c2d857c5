"""2.x's data containers, their collate and the data-parallel wrapper that unpacks them."""
from .collate import collate
from .data_container import DataContainer
from .data_parallel import MMDataParallel, MMDistributedDataParallel, scatter, scatter_kwargs, unwrap

__all__ = ['DataContainer', 'collate', 'MMDataParallel', 'MMDistributedDataParallel', 'scatter', 'scatter_kwargs',
           'unwrap']
