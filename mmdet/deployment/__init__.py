"""ONNX deployment: export (:func:`export_onnx`), the exportable detector
(:class:`DeployDetector`) and the onnxruntime wrapper (:class:`ONNXRuntimeDetector`).
onnx, onnxscript and onnxruntime are optional (``pip install -e ".[deploy]"``)."""
from .evaluate import onnx_dataset_test
from .export import export_onnx, require_deploy_deps
from .graph import DeployDetector, multiclass_nms_graph
from .ort import ONNXRuntimeDetector
from .verify import compare_results, verify_onnx

__all__ = ['export_onnx', 'require_deploy_deps', 'DeployDetector', 'multiclass_nms_graph', 'ONNXRuntimeDetector',
           'compare_results', 'verify_onnx', 'onnx_dataset_test']
