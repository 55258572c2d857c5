"""2.x's data containers, their collate and the data-parallel wrapper that unpacks them."""
from .collate import collate
from .data_container import DataContainer
from .data_parallel import MMDataParallel, MMDistributedDataParallel, scatter, scatter_kwargs, unwrap
from .wrappers import MODULE_WRAPPERS, bare_model, is_module_wrapper

__all__ = ['DataContainer', 'collate', 'MMDataParallel', 'MMDistributedDataParallel', 'scatter', 'scatter_kwargs',
           'unwrap', 'MODULE_WRAPPERS', 'is_module_wrapper', 'bare_model']
