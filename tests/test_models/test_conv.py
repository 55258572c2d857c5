"""The Winograd CPU inference path of ``mmdet.ops.Conv2d``."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet.ops import Conv2d, conv

nnpack = pytest.mark.skipif(not torch._nnpack_available(), reason='this torch has no NNPACK')


def make_conv(cin=256, cout=256, **kw):
    torch.manual_seed(0)
    return Conv2d(cin, cout, 3, padding=1, **kw)


@pytest.fixture
def calls(monkeypatch):
    """Counts the convs that took the Winograd path."""
    n = []
    real = conv.winograd_conv3x3
    monkeypatch.setattr(conv, 'winograd_conv3x3', lambda *a: n.append(a[0].shape) or real(*a))
    return n


@nnpack
@pytest.mark.parametrize('batch', [1, 2])
def test_winograd_close_to_direct_and_to_float64(calls, batch):
    m = make_conv()
    x = torch.randn(batch, 256, 50, 64)  # 3200 pixels: just over the size where Winograd pays
    with torch.inference_mode():
        y = m(x)
    assert calls == [x.shape]
    ref = F.conv2d(x.double(), m.weight.double(), m.bias.double(), padding=1)
    direct = F.conv2d(x, m.weight, m.bias, padding=1)
    scale = ref.abs().max()
    assert (y.double() - ref).abs().max() / scale < 2e-5
    assert (direct.double() - ref).abs().max() / scale < 2e-5
    assert y.shape == direct.shape and y.is_contiguous()


@nnpack
def test_winograd_under_no_grad_and_on_channels_last_input(calls):
    m = make_conv().eval()
    x = torch.randn(1, 256, 56, 56)
    with torch.no_grad():
        a = m(x)
        b = m(x.contiguous(memory_format=torch.channels_last))
    assert len(calls) == 2
    assert torch.equal(a, b)


@pytest.mark.parametrize('case', ['grad', 'stride', 'dilation', 'groups', 'small_map', 'few_channels', 'float64',
                                  'switched_off', 'autocast'])
def test_direct_conv_where_winograd_does_not_apply(calls, case, monkeypatch):
    kw = dict(stride=2) if case == 'stride' else dict(dilation=2, padding=2) if case == 'dilation' else \
        dict(groups=2) if case == 'groups' else {}
    torch.manual_seed(0)
    m = Conv2d(256, 32 if case == 'few_channels' else 256, 3, **{'padding': 1, **kw})
    x = torch.randn(1, 256, *((32, 40) if case == 'small_map' else (56, 56)))
    if case == 'float64':
        m, x = m.double(), x.double()
    if case == 'switched_off':
        monkeypatch.setattr(conv, 'WINOGRAD', False)
    if case == 'grad':
        y = m(x)  # training: autograd through the ordinary conv
        y.sum().backward()
        assert m.weight.grad is not None
        expected = nn.Conv2d._conv_forward(m, x, m.weight, m.bias)
    else:
        amp = torch.autocast('cpu', dtype=torch.bfloat16, enabled=case == 'autocast')  # --amp: bf16 as asked
        with torch.inference_mode(), amp:
            y = m(x)
            expected = nn.Conv2d._conv_forward(m, x, m.weight, m.bias)
        assert y.dtype == (torch.bfloat16 if case == 'autocast' else x.dtype)
    assert calls == []
    assert torch.equal(y.detach(), expected.detach())


@nnpack
def test_winograd_not_traced_into_exported_graphs(calls):
    m = make_conv().eval().requires_grad_(False)
    x = torch.randn(1, 256, 56, 56)
    with torch.no_grad():  # a case Winograd would take when run eagerly
        ep = torch.export.export(m, (x,))
    targets = {str(n.target) for n in ep.graph.nodes if n.op == 'call_function'}
    assert not any('nnpack' in t for t in targets), targets
    assert calls == []
    with torch.inference_mode():
        assert torch.allclose(ep.module()(x), m(x), rtol=1e-4, atol=1e-4)


def test_winograd_pays_rule():
    assert conv.winograd_pays(256, 256, 100, 152)  # head tower at P3 of 800x1216
    assert conv.winograd_pays(64, 64, 200, 304)  # ResNet layer1
    assert conv.winograd_pays(256, 256, 50, 76)  # P4 of 800x1216
    assert not conv.winograd_pays(256, 256, 32, 40)  # P4 of 512x640: oneDNN wins in the network
    assert not conv.winograd_pays(256, 4, 100, 152)  # box output conv
    assert conv.winograd_pays(256, 80, 100, 152) and not conv.winograd_pays(256, 80, 50, 76)


def test_detector_convs_are_mmdet_conv2d():
    from mmdet.models import build_detector
    from mmdet.utils import Config
    cfg = Config.fromfile('configs/vfnet/vfnet_r50_fpn_1x_coco.py')
    cfg.model.pretrained = None
    model = build_detector(cfg.model)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(type(m) is Conv2d for m in convs)


@nnpack
def test_winograd_keeps_vfnet_detections(calls, monkeypatch):
    """The public fidelity case's model and images at twice the size (2x3x512x640, where Winograd runs
    the P3 head towers, the FPN and the ResNet stages): the same detections as direct convs."""
    import copy

    import numpy as np

    from tests.fidelity import CASES, METAS, build_case_model, dets_table, match_dets
    case = np.load(f'{CASES}/vfnet_r50.npz', allow_pickle=False)
    model = build_case_model(case).eval()
    x = F.interpolate(torch.from_numpy(case['img']), scale_factor=2, mode='bilinear')
    metas = copy.deepcopy(METAS)
    for m in metas:
        for k in ('img_shape', 'pad_shape'):
            m[k] = (m[k][0] * 2, m[k][1] * 2, 3)
        m['batch_input_shape'] = tuple(x.shape[2:])
    results = {}
    for on in (False, True):
        monkeypatch.setattr(conv, 'WINOGRAD', on)
        with torch.inference_mode():
            results[on] = dets_table(model.simple_test(x, copy.deepcopy(metas), rescale=True))
    assert len(calls) >= 10
    ok, detail = match_dets(results[True], results[False])
    assert ok and len(results[True]) == len(results[False]), detail
