"""Export a detector to ONNX (torch's dynamo exporter, opset >= 18)."""
import contextlib
import importlib
import time

import torch

from mmdet.ops import deform_conv

from .graph import DeployDetector

INPUT_NAMES = ['input', 'img_shape', 'scale_factor']
OUTPUT_NAMES = ['dets', 'labels']
DCN_MODES = {'deformconv': 'torchvision', 'sampled': 'sampled'}


def require_deploy_deps(*names):
    """Import the optional deployment packages or say how to get them."""
    hint = {'onnx': 'onnx', 'onnxruntime': 'onnxruntime', 'onnxscript': 'onnxscript>=0.7.1'}
    mods = []
    for name in names or ('onnx', 'onnxscript'):
        try:
            mods.append(importlib.import_module(name))
        except ImportError as e:
            raise ImportError(f"'{name}' is needed for ONNX deployment: pip install \"{hint.get(name, name)}\" "
                              f'(or pip install -e ".[deploy]")') from e
    return mods


@contextlib.contextmanager
def dcn_mode(mode):
    """Which form deformable convs take in the graph: ``deformconv`` (the ONNX
    ``DeformConv`` op, opset 19) or ``sampled`` (``GridSample`` + ``MatMul``, for
    runtimes without DeformConv such as TensorRT)."""
    if mode not in DCN_MODES:
        raise ValueError(f"dcn mode must be one of {sorted(DCN_MODES)}, got '{mode}'")
    old = deform_conv.CPU_IMPL
    deform_conv.CPU_IMPL = DCN_MODES[mode]
    try:
        yield
    finally:
        deform_conv.CPU_IMPL = old


def export_onnx(detector, output_file, shape=(800, 1216), dynamic=False, opset=19, dcn='deformconv',
                simplify=False, logger=print, optimize=True):
    """Write ``detector`` (a built, eval-mode model on the CPU) as one ONNX graph.

    ``shape`` (H, W) is the padded input size traced with; with ``dynamic``
    the height and width of ``input`` are free (multiples of the config's pad
    divisor are what the pipeline produces).  ``optimize=False`` skips onnxscript's graph
    optimizer (constant folding and pattern fusions, about a third of the export time of a
    VFNet-R50 on a CPU): the same detections from a larger graph.  Returns the output path."""
    require_deploy_deps('onnx', 'onnxscript')
    if opset < 18:
        raise ValueError(f'opset {opset} is too old: the exported NMS and grid sampling need opset >= 18 '
                         '(DeformConv needs 19)')
    if dcn == 'deformconv' and opset < 19:
        raise ValueError('--dcn-mode deformconv needs opset 19 (the ONNX DeformConv op); use --dcn-mode sampled')
    model = DeployDetector(detector.cpu().eval()).eval()
    h, w = shape
    args = (torch.zeros(1, 3, h, w), torch.tensor([float(h), float(w)]), torch.ones(4))
    dynamic_shapes = None
    if dynamic:
        dyn_h, dyn_w = torch.export.Dim('height', min=32, max=8192), torch.export.Dim('width', min=32, max=8192)
        dynamic_shapes = {'img': {2: dyn_h, 3: dyn_w}, 'img_shape': None, 'scale_factor': None}
    start = time.time()
    with dcn_mode(dcn), torch.no_grad():
        program = torch.onnx.export(model, args, dynamo=True, opset_version=opset, input_names=INPUT_NAMES,
                                    output_names=OUTPUT_NAMES, dynamic_shapes=dynamic_shapes, verbose=False,
                                    optimize=optimize)
    program.save(output_file)
    if simplify:
        simplify_onnx(output_file)
    logger(f'exported {output_file} in {time.time() - start:.1f} s (opset {opset}, dcn {dcn}, '
           f'{"dynamic" if dynamic else "static"} {h}x{w}{"" if optimize else ", not optimized"})')
    return output_file


def simplify_onnx(path):
    """Constant-fold and clean the graph in place with onnxsim when installed."""
    try:
        import onnx
        import onnxsim
    except ImportError as e:
        raise ImportError('--simplify needs onnx-simplifier: pip install onnxsim') from e
    model, ok = onnxsim.simplify(onnx.load(path))
    if not ok:
        raise RuntimeError(f'onnxsim could not validate the simplified {path}; the unsimplified file is kept')
    onnx.save(model, path)
