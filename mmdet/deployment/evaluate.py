"""Run an exported detector over a test dataset."""
from tqdm import tqdm

from .ort import ONNXRuntimeDetector


def onnx_dataset_test(onnx_file, cfg, dataset, threads=0, show_progress=True):
    """Results of ``onnx_file`` on every image of ``dataset`` (test mode), in
    dataset order and in the 2.x format, ready for ``dataset.evaluate``."""
    detector = ONNXRuntimeDetector(onnx_file, cfg, class_names=dataset.CLASSES, threads=threads)
    results = []
    for i in tqdm(range(len(dataset)), desc='onnxruntime', unit='img', disable=not show_progress,
                  dynamic_ncols=True, leave=False):
        results.append(detector.test_data(dataset[i]))
    return results
