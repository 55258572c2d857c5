from .det_inferencer import DetInferencer
from .inference import inference_detector, init_detector, show_result
from .sliced_inference import evaluate_sliced, slice_grid, sliced_inference
from .test import build_test_dataset, inference_autocast, load_results, multi_gpu_test, single_gpu_test
from .train import set_random_seed, train_detector, train_swa

__all__ = ['init_detector', 'inference_detector', 'show_result', 'single_gpu_test', 'multi_gpu_test',
           'build_test_dataset', 'inference_autocast', 'load_results', 'set_random_seed', 'train_detector',
           'train_swa', 'DetInferencer', 'sliced_inference', 'slice_grid', 'evaluate_sliced']
