"""2.x's data containers, their collate and the data-parallel wrapper that unpacks them."""
from .collate import collate
from .data_container import DataContainer
from .data_parallel import MMDataParallel, scatter, scatter_kwargs

__all__ = ['DataContainer', 'collate', 'MMDataParallel', 'scatter', 'scatter_kwargs']
