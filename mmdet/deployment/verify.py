"""Compare an exported model's detections with the PyTorch model's."""
import numpy as np
import torch


from .ort import ONNXRuntimeDetector


def compare_results(ref, got, box_tol=0.01, score_tol=1e-4):
    """Two 2.x results (per class (k, 5) arrays) agree when every class has the
    same number of detections and each reference detection pairs with its own
    detection of the other result, boxes within ``box_tol`` px and scores within
    ``score_tol``.  (Pairing, not sorting: low-score detections often tie.)
    Returns ``(ok, message)``."""
    bad, worst_box, worst_score = [], 0.0, 0.0
    for c, (r, g) in enumerate(zip(ref, got)):
        if len(r) != len(g):
            bad.append(f'class {c}: {len(r)} vs {len(g)} detections')
            continue
        free = np.ones(len(g), bool)
        for det in r:
            box_err = np.abs(g[:, :4] - det[:4]).max(1)
            score_err = np.abs(g[:, 4] - det[4])
            ok = free & (box_err <= box_tol) & (score_err <= score_tol)
            if not ok.any():
                bad.append(f'class {c}: no partner for {np.round(det, 4).tolist()}')
                continue
            j = np.flatnonzero(ok)[np.argmin(box_err[ok])]
            free[j] = False
            worst_box, worst_score = max(worst_box, float(box_err[j])), max(worst_score, float(score_err[j]))
    n = sum(len(r) for r in ref)
    msg = f'{n} detections; ' + ('; '.join(bad[:3]) + (f' (+{len(bad) - 3} more)' if len(bad) > 3 else '') if bad else
                                 f'largest box difference {worst_box:.2e} px, score difference {worst_score:.2e}')
    return not bad, msg


def verify_onnx(detector, onnx_file, cfg, img):
    """Run ``img`` (a path or BGR array) through the PyTorch ``detector`` and the
    exported ``onnx_file`` with the same pre-processing; ``(ok, message)``."""
    from mmdet.apis.inference import prepare_test_data
    from mmdet.parallel import unwrap
    ort = ONNXRuntimeDetector(onnx_file, cfg)
    data = unwrap(prepare_test_data(cfg, img))
    meta = dict(data['img_metas'][0])
    x = data['img'][0][None]
    meta['batch_input_shape'] = tuple(x.shape[-2:])
    with torch.no_grad():
        ref = detector.eval().cpu().simple_test(x, [meta], rescale=True)[0]
    return compare_results(ref, ort.test_data(data))
