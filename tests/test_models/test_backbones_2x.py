"""RegNetX and HRNetV2 backbones, the HRFPN neck, and the original's configs on them
(``configs/regnet``: RetinaNet on RegNetX; ``configs/hrnet``: FCOS on HRNetV2p).

Every shipped config builds with exactly the state-dict layout of the
original's checkpoint (``tests/data/fidelity/layouts_2x_backbones.json``,
recorded with the original code).  The HRNet configs need FCOS (another
module): their backbone + neck part is checked on its own, the whole model
only where ``mmdet.models.dense_heads.fcos_head`` and the ``configs/fcos``
base files are there.
"""
import glob
import hashlib
import json
import os.path as osp
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

import mmdet.models.backbones.hrnet  # noqa: F401  (registers HRNet)
import mmdet.models.backbones.regnet  # noqa: F401  (registers RegNet)
import mmdet.models.necks.hrfpn  # noqa: F401  (registers HRFPN)
from mmdet.models import build_backbone, build_detector, build_neck
from mmdet.models.backbones.hrnet import HRModule, HRNet
from mmdet.models.backbones.regnet import RegNet, RegNetBottleneck, generate_regnet, regnet_stages
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmdet.models.necks.hrfpn import HRFPN
from mmdet.runner import checkpoint as ckpt_mod
from mmdet.utils import Config
from mmdet.utils.errors import InvalidArgumentError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDERS = ('regnet', 'hrnet')
LAYOUTS = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_backbones.json')))
CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                 for f in FOLDERS for p in glob.glob(osp.join(ROOT, 'configs', f, '*.py')))
REGNET_CONFIGS = [c for c in CONFIGS if c.startswith('regnet/')]
HRNET_CONFIGS = [c for c in CONFIGS if c.startswith('hrnet/')]
FCOS_BASE = osp.join(ROOT, 'configs', 'fcos', 'fcos_r50_caffe_fpn_gn-head_4x4_1x_coco.py')


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def load(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    cfg.model.pretrained = None
    return cfg


def fcos_available():
    """The reason the whole FCOS-on-HRNet models cannot be built here, or None."""
    try:
        import mmdet.models.dense_heads.fcos_head  # noqa: F401
        import mmdet.models.detectors.fcos  # noqa: F401
    except ImportError as e:
        return f'FCOS is not importable yet (mmdet.models.dense_heads.fcos_head / detectors.fcos): {e}'
    if not osp.isfile(FCOS_BASE):
        return f'the base config {osp.relpath(FCOS_BASE, ROOT)} of the HRNet configs is not shipped yet'
    return None


def load_hrnet_backbone_neck(name, tmp_path):
    """The ``backbone`` and ``neck`` dicts of an HRNet config.  Without the
    ``configs/fcos`` base (another module's) the hrnet files are read over a
    stand-in base: they ``_delete_`` the base's backbone and neck, so these two
    dicts come from the hrnet files alone either way."""
    if osp.isfile(FCOS_BASE):
        cfg = load(name)
    else:
        (tmp_path / 'hrnet').mkdir(exist_ok=True)
        (tmp_path / 'fcos').mkdir(exist_ok=True)
        for f in glob.glob(osp.join(ROOT, 'configs', 'hrnet', '*.py')):
            (tmp_path / 'hrnet' / osp.basename(f)).write_text(open(f).read())
        (tmp_path / 'fcos' / osp.basename(FCOS_BASE)).write_text(
            "model = dict(type='FCOS', backbone=dict(type='ResNet', depth=50), "
            "neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5))\n")
        cfg = Config.fromfile(str(tmp_path / name))
    return cfg.model.backbone, cfg.model.neck


def layout(module, prefix=''):
    return {prefix + k: list(v.shape) for k, v in module.state_dict().items()}


def part(ref, prefix):
    return {k: v for k, v in ref.items() if k.startswith(prefix)}


def hrnet_extra(w, blocks=4, modules=(1, 4, 3)):
    """HRNetV2p-W``w``'s ``extra`` (the original configs' numbers); fewer blocks/modules for tiny ones."""
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(blocks,), num_channels=(64,)),
        stage2=dict(num_modules=modules[0], num_branches=2, block='BASIC', num_blocks=(blocks,) * 2,
                    num_channels=(w, 2 * w)),
        stage3=dict(num_modules=modules[1], num_branches=3, block='BASIC', num_blocks=(blocks,) * 3,
                    num_channels=(w, 2 * w, 4 * w)),
        stage4=dict(num_modules=modules[2], num_branches=4, block='BASIC', num_blocks=(blocks,) * 4,
                    num_channels=(w, 2 * w, 4 * w, 8 * w)))


# ------------------------------------------------------------------------------ the config files
# sha256 (first 16 hex digits) of the original's files (hyz-xmaster/VarifocalNet f459696): shipped byte for byte
ORIGINAL_SHA256 = {
    'regnet/README.md': '944825fd9405eeef',
    'regnet/retinanet_regnetx-1.6GF_fpn_1x_coco.py': '032931b377816a6a',
    'regnet/retinanet_regnetx-3.2GF_fpn_1x_coco.py': '160e93e7e2d3c209',
    'regnet/retinanet_regnetx-800MF_fpn_1x_coco.py': '1afb1925d9550ce3',
    'hrnet/README.md': 'efe93fae3922142d',
    'hrnet/fcos_hrnetv2p_w18_gn-head_4x4_1x_coco.py': '918711a4f4617137',
    'hrnet/fcos_hrnetv2p_w18_gn-head_4x4_2x_coco.py': 'e4312c33031913c4',
    'hrnet/fcos_hrnetv2p_w18_gn-head_mstrain_640-800_4x4_2x_coco.py': '3bb42f02525b7af3',
    'hrnet/fcos_hrnetv2p_w32_gn-head_4x4_1x_coco.py': 'f15f8dfb9b2d78f8',
    'hrnet/fcos_hrnetv2p_w32_gn-head_4x4_2x_coco.py': '72aa850c432597c6',
    'hrnet/fcos_hrnetv2p_w32_gn-head_mstrain_640-800_4x4_2x_coco.py': 'cb2cbc7d83a78f98',
    'hrnet/fcos_hrnetv2p_w40_gn-head_mstrain_640-800_4x4_2x_coco.py': 'ddd9ed12cd869116',
}


def test_the_original_config_files_are_shipped():
    """The single-stage (RetinaNet / FCOS) configs of the original's regnet and hrnet folders, as
    written there; their two-stage ones (Faster/Mask/Cascade R-CNN, HTC) need detectors this
    toolbox does not have."""
    assert CONFIGS == sorted(LAYOUTS)
    assert len(REGNET_CONFIGS) == 3 and len(HRNET_CONFIGS) == 7
    shipped = sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                     for f in FOLDERS for p in glob.glob(osp.join(ROOT, 'configs', f, '*')))
    assert shipped == sorted(ORIGINAL_SHA256)
    for name, digest in ORIGINAL_SHA256.items():
        with open(osp.join(ROOT, 'configs', name), 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest()[:16] == digest, name


@pytest.mark.parametrize('name, arch, widths', [
    ('regnet/retinanet_regnetx-800MF_fpn_1x_coco.py', 'regnetx_800mf', [64, 128, 288, 672]),
    ('regnet/retinanet_regnetx-1.6GF_fpn_1x_coco.py', 'regnetx_1.6gf', [72, 168, 408, 912]),
    ('regnet/retinanet_regnetx-3.2GF_fpn_1x_coco.py', 'regnetx_3.2gf', [96, 192, 432, 1008]),
])
def test_regnet_configs(name, arch, widths):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    assert cfg.model.pretrained == f'open-mmlab://{arch}'
    assert cfg.model.backbone.arch == arch and cfg.model.backbone.type == 'RegNet'
    assert 'depth' not in cfg.model.backbone  # the ResNet base's backbone is _delete_d
    assert cfg.model.neck.in_channels == widths and regnet_stages(RegNet.arch_settings[arch])['widths'] == widths
    assert cfg.optimizer_config == dict(grad_clip=dict(max_norm=35, norm_type=2))
    assert cfg.img_norm_cfg == dict(mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], to_rgb=False)


@pytest.mark.parametrize('name', REGNET_CONFIGS)
def test_regnet_layout_is_the_original_checkpoints(name):
    sd = build_detector(load(name).model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]


@pytest.mark.parametrize('name', HRNET_CONFIGS)
def test_hrnet_backbone_and_neck_layout_is_the_original_checkpoints(name, tmp_path):
    backbone, neck = load_hrnet_backbone_neck(name, tmp_path)
    assert backbone.type == 'HRNet' and neck.type == 'HRFPN' and neck.stride == 2 and neck.num_outs == 5
    ref = LAYOUTS[name]
    assert layout(build_backbone(backbone), 'backbone.') == part(ref, 'backbone.')
    assert layout(build_neck(neck), 'neck.') == part(ref, 'neck.')


@pytest.mark.parametrize('name', HRNET_CONFIGS)
def test_hrnet_whole_layout_is_the_original_checkpoints(name):
    reason = fcos_available()
    if reason:
        pytest.skip(reason)
    sd = build_detector(load(name).model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]


# ------------------------------------------------------------------------------------- RegNet
# The original's arch_settings (MMDetection 2.10 mmdet/models/backbones/regnet.py), and the
# stage widths / blocks the pycls paper tables give for them (2.10's tests check the widths).
ORIGINAL_ARCHS = {
    'regnetx_400mf': (dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=1.0),
                      [32, 64, 160, 384], [1, 2, 7, 12]),
    'regnetx_800mf': (dict(w0=56, wa=35.73, wm=2.28, group_w=16, depth=16, bot_mul=1.0),
                      [64, 128, 288, 672], [1, 3, 7, 5]),
    'regnetx_1.6gf': (dict(w0=80, wa=34.01, wm=2.25, group_w=24, depth=18, bot_mul=1.0),
                      [72, 168, 408, 912], [2, 4, 10, 2]),
    'regnetx_3.2gf': (dict(w0=88, wa=26.31, wm=2.25, group_w=48, depth=25, bot_mul=1.0),
                      [96, 192, 432, 1008], [2, 6, 15, 2]),
    'regnetx_4.0gf': (dict(w0=96, wa=38.65, wm=2.43, group_w=40, depth=23, bot_mul=1.0),
                      [80, 240, 560, 1360], [2, 5, 14, 2]),
    'regnetx_6.4gf': (dict(w0=184, wa=60.83, wm=2.07, group_w=56, depth=17, bot_mul=1.0),
                      [168, 392, 784, 1624], [2, 4, 10, 1]),
    'regnetx_8.0gf': (dict(w0=80, wa=49.56, wm=2.88, group_w=120, depth=23, bot_mul=1.0),
                      [80, 240, 720, 1920], [2, 5, 15, 1]),
    'regnetx_12gf': (dict(w0=168, wa=73.36, wm=2.37, group_w=112, depth=19, bot_mul=1.0),
                     [224, 448, 896, 2240], [2, 5, 11, 1]),
}


def test_arch_table_is_the_originals():
    assert RegNet.arch_settings == {k: v[0] for k, v in ORIGINAL_ARCHS.items()}
    for name, (arch, widths, blocks) in ORIGINAL_ARCHS.items():
        s = regnet_stages(arch)
        assert (s['widths'], s['blocks']) == (widths, blocks), name
        assert s['group_widths'] == [min(arch['group_w'], w) for w in widths], name


def test_regnetx_400mf_by_hand():
    """w0=24, wa=24.48, wm=2.54, 22 blocks: u_j = 24 + 24.48 j, k_j = round(log_2.54(u_j / 24)):
    k = 0 for j = 0, 1 for j = 1, 2 (u = 48.5, 73.0: log = 0.75, 1.19), 2 for j = 3..9 (u = 97.4
    .. 244.3), 3 for j = 10..21; widths 24 * 2.54^k rounded to 8: 24, 64 (60.96), 152 (154.8), 392
    (393.3).  The group width 16 then rounds the stages to multiples of 16, halves to even as
    Python's round: 24 -> 32 (1.5 -> 2), 64, 152 -> 160 (9.5 -> 10), 392 -> 384 (24.5 -> 24)."""
    widths, num_stages = generate_regnet(24, 24.48, 2.54, 22)
    assert widths == [24] + [64] * 2 + [152] * 7 + [392] * 12 and num_stages == 4
    m = RegNet('regnetx_400mf')
    assert m.stage_widths == [32, 64, 160, 384] and m.stage_blocks == [1, 2, 7, 12]
    assert m.group_widths == [16] * 4 and m.depth == 22 and m.feat_dim == 384
    # stage 1: 32 channels in 2 groups of 16; blocks are ResNet Bottlenecks without expansion
    b = m.layer1[0]
    assert isinstance(b, RegNetBottleneck) and isinstance(b, Bottleneck) and isinstance(m, ResNet)
    assert b.conv2.groups == 2 and b.conv2.in_channels == b.conv3.out_channels == 32
    assert b.conv2.stride == (2, 2) and b.conv1.stride == (1, 1)  # pytorch style
    assert m.layer4[0].conv2.groups == 24 and m.layer4[0].downsample[0].stride == (2, 2)
    assert m.conv1.kernel_size == (3, 3) and m.conv1.out_channels == 32 and not hasattr(m, 'maxpool')


@pytest.mark.parametrize('arch', list(ORIGINAL_ARCHS))
def test_regnet_output_channels_and_strides(arch):
    torch.manual_seed(0)
    m = RegNet(arch).eval()
    widths = ORIGINAL_ARCHS[arch][1]
    with torch.no_grad():
        outs = m(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, w, 64 // s, 96 // s) for w, s in zip(widths, (4, 8, 16, 32))]
    # and from the arch dict
    assert regnet_stages(ORIGINAL_ARCHS[arch][0])['widths'] == [o.shape[1] for o in outs]


def test_regnet_out_indices_and_dict_arch():
    arch = dict(w0=8, wa=8.0, wm=2.0, group_w=8, depth=4, bot_mul=1.0)
    m = RegNet(arch, out_indices=(1, 2), stem_channels=8).eval()
    # u = 8, 16, 24, 32 -> k = round(log2(u / 8)) = 0, 1, 2 (log2(3) = 1.58), 2 -> widths 8, 16, 32, 32
    assert m.stage_widths == [8, 16, 32] and m.stage_blocks == [1, 1, 2]
    outs = m(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 4, 4), (2, 32, 2, 2)]


def test_regnet_bad_arguments():
    with pytest.raises(AssertionError, match='regnetx_400mf233'):  # 2.x asserted
        RegNet('regnetx_400mf233')
    with pytest.raises(ValueError, match='str .* or a dict'):
        RegNet(400)
    with pytest.raises(InvalidArgumentError, match=r"misses \['group_w'\]"):
        RegNet(dict(w0=24, wa=24.48, wm=2.54, depth=22, bot_mul=1.0))
    with pytest.raises(InvalidArgumentError, match='out_indices'):
        RegNet('regnetx_400mf', out_indices=(4,))
    with pytest.raises(InvalidArgumentError, match='strides'):
        RegNet('regnetx_400mf', strides=(2, 2, 2))
    with pytest.raises(InvalidArgumentError, match='deep_stem'):
        RegNet('regnetx_400mf', deep_stem=True)


def _frozen(module):
    return all(not p.requires_grad for p in module.parameters())


def test_regnet_frozen_stages_and_norm_eval():
    m = RegNet('regnetx_400mf', frozen_stages=1, norm_eval=False)
    m.train()
    assert _frozen(m.conv1) and _frozen(m.bn1) and _frozen(m.layer1)
    assert all(p.requires_grad for layer in (m.layer2, m.layer3, m.layer4) for p in layer.parameters())
    assert not m.bn1.training and not m.layer1[0].bn1.training  # frozen stages keep their statistics
    assert m.layer2[0].bn1.training and m.layer4[-1].bn3.training  # norm_eval=False: the rest trains them
    before = m.layer1[0].bn1.running_mean.clone()
    m(torch.rand(2, 3, 64, 64))
    assert torch.equal(m.layer1[0].bn1.running_mean, before)
    assert m.layer2[0].bn1.num_batches_tracked == 1

    m = RegNet('regnetx_400mf', frozen_stages=-1, norm_eval=True)
    m.train()
    assert all(p.requires_grad for p in m.parameters())
    bns = [x for x in m.modules() if isinstance(x, _BatchNorm)]
    assert bns and not any(x.training for x in bns) and m.layer2[0].conv1.training
    m.eval()
    m.train()  # again after eval()
    assert not any(x.training for x in bns)


def test_regnet_zero_init_residual_and_pretrained_name(tmp_path, monkeypatch):
    m = RegNet('regnetx_400mf')
    m.init_weights()
    assert torch.all(m.layer1[0].bn3.weight == 0) and torch.all(m.layer1[0].bn1.weight == 1)
    # open-mmlab://regnetx_* names resolve to the hub cache file mmcv downloads (stem-<hash>.pth)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    (tmp_path / 'checkpoints').mkdir()
    src = RegNet('regnetx_400mf')
    torch.nn.init.normal_(src.layer3[2].conv2.weight)
    torch.save(src.state_dict(), tmp_path / 'checkpoints' / 'regnetx_400mf-a5b10d96.pth')
    assert ckpt_mod.resolve_pretrained('open-mmlab://regnetx_400mf').endswith('regnetx_400mf-a5b10d96.pth')
    m.init_weights('open-mmlab://regnetx_400mf')
    assert torch.equal(m.layer3[2].conv2.weight, src.layer3[2].conv2.weight)


# -------------------------------------------------------------------------------------- HRNet
def _orig_hrmodule_forward(mod, x):
    """MMDetection 2.10's HRModule.forward, transcribed (on the module's layers; its
    ``nn.Upsample(scale_factor=2 ** (j - i), mode='nearest')`` written out)."""
    x = list(x)
    if mod.num_branches == 1:
        return [mod.branches[0](x[0])]
    for i in range(mod.num_branches):
        x[i] = mod.branches[i](x[i])
    x_fuse = []
    for i in range(len(mod.fuse_layers)):
        y = 0
        for j in range(mod.num_branches):
            if i == j:
                y += x[j]
            elif j > i:
                y += F.interpolate(mod.fuse_layers[i][j](x[j]), scale_factor=2 ** (j - i), mode='nearest')
            else:
                y += mod.fuse_layers[i][j](x[j])
        x_fuse.append(mod.relu(y))
    return x_fuse


def _orig_hrnet_forward(m, x):
    """MMDetection 2.10's HRNet.forward, transcribed (on the model's layers)."""
    x = m.relu(m.norm1(m.conv1(x)))
    x = m.relu(m.norm2(m.conv2(x)))
    x = m.layer1(x)
    x_list = [x if m.transition1[i] is None else m.transition1[i](x) for i in range(m.stage2_cfg['num_branches'])]
    y_list = x_list
    for mod in m.stage2:
        y_list = _orig_hrmodule_forward(mod, y_list)
    for s, transition in ((3, m.transition2), (4, m.transition3)):
        x_list = [y_list[i] if transition[i] is None else transition[i](y_list[-1])
                  for i in range(getattr(m, f'stage{s}_cfg')['num_branches'])]
        y_list = x_list
        for mod in getattr(m, f'stage{s}'):
            y_list = _orig_hrmodule_forward(mod, y_list)
    return y_list


def _orig_hrfpn_forward(n, inputs):
    """MMDetection 2.10's HRFPN.forward, transcribed."""
    outs = [inputs[0]] + [F.interpolate(inputs[i], scale_factor=2 ** i, mode='bilinear')
                          for i in range(1, n.num_ins)]
    out = n.reduction_conv(torch.cat(outs, dim=1))
    outs = [out] + [n.pooling(out, kernel_size=2 ** i, stride=2 ** i) for i in range(1, n.num_outs)]
    return [n.fpn_convs[i](outs[i]) for i in range(n.num_outs)]


def _randomise_bn(model, g):
    for mod in model.modules():
        if isinstance(mod, _BatchNorm):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=g) * 0.1)


def test_hrnet_and_hrfpn_forward_match_the_original():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    m = HRNet(hrnet_extra(4, blocks=1, modules=(1, 2, 1))).eval()
    _randomise_bn(m, g)
    n = HRFPN([4, 8, 16, 32], 8, stride=2).eval()
    x = torch.randn(2, 3, 64, 96, generator=g)
    with torch.no_grad():
        ours, ref = m(x), _orig_hrnet_forward(m, x)
        assert [tuple(o.shape) for o in ours] == [(2, 4 * 2 ** j, 16 // 2 ** j, 24 // 2 ** j) for j in range(4)]
        for a, b in zip(ours, ref):
            assert torch.allclose(a, b, atol=1e-5)
        for a, b in zip(n(ours), _orig_hrfpn_forward(n, ours)):
            assert torch.allclose(a, b, atol=1e-5)
        assert [tuple(o.shape[-2:]) for o in n(ours)] == [(8, 12), (4, 6), (2, 3), (1, 2), (1, 1)]
        # a size 2.x could not fuse (13 * 2 != 25 at stride 8) works, the upsampling fitted to the target
        outs = m(torch.randn(1, 3, 100, 70, generator=g))
        assert [tuple(o.shape[-2:]) for o in outs] == [(25, 18), (13, 9), (7, 5), (4, 3)]
        assert len(n(outs)) == 5


def test_hrmodule_structure_and_names():
    mod = HRModule(3, BasicBlock, (1, 1, 1), [4, 8, 16], (4, 8, 16))
    assert mod.fuse_layers[0][0] is None and mod.fuse_layers[2][2] is None
    assert mod.fuse_layers[0][2][0].kernel_size == (1, 1)  # lower resolution in: 1x1 conv, then upsample
    down = mod.fuse_layers[2][0]  # two stride-2 3x3 convs, ReLU only between them
    assert len(down) == 2 and len(down[0]) == 3 and len(down[1]) == 2
    assert down[0][0].out_channels == 4 and down[1][0].out_channels == 16 and down[1][0].stride == (2, 2)
    keys = set(mod.state_dict())
    assert {'branches.0.0.conv1.weight', 'fuse_layers.0.1.0.weight', 'fuse_layers.0.1.1.running_var',
            'fuse_layers.2.0.0.0.weight', 'fuse_layers.2.0.1.1.weight'} <= keys
    single = HRModule(3, BasicBlock, (1, 1, 1), [4, 8, 16], (4, 8, 16), multiscale_output=False)
    assert len(single.fuse_layers) == 1
    with pytest.raises(InvalidArgumentError, match='num_branches=2 but 3 num_channels'):
        HRModule(2, BasicBlock, (1, 1), [4, 8], (4, 8, 16))


@pytest.mark.parametrize('w', [18, 32, 40])
def test_hrnetv2p_widths(w):
    """W18/W32/W40: stage 1 a Bottleneck branch of 256 channels, then 1/4/3 modules of 4-block BASIC branches."""
    m = HRNet(hrnet_extra(w))
    assert len(m.stage2) == 1 and len(m.stage3) == 4 and len(m.stage4) == 3
    assert isinstance(m.layer1[0], Bottleneck) and m.layer1[3].conv3.out_channels == 256
    assert m.transition1[0][0].in_channels == 256 and m.transition1[0][0].out_channels == w
    assert m.transition1[1][0][0].stride == (2, 2) and m.transition1[1][0][0].out_channels == 2 * w
    assert m.transition2[0] is None and m.transition2[1] is None and m.transition3[3][0][0].out_channels == 8 * w
    assert [len(b) for b in m.stage4[2].branches] == [4] * 4
    assert m.stage4[2].branches[3][0].conv1.out_channels == 8 * w
    assert len(m.stage4[2].fuse_layers) == 4  # multiscale output to the end: every branch goes to HRFPN


def test_hrnet_norm_eval_and_init():
    m = HRNet(hrnet_extra(4, blocks=1, modules=(1, 1, 1)), zero_init_residual=True)
    m.init_weights()
    assert torch.all(m.stage2[0].branches[0][0].bn2.weight == 0) and torch.all(m.layer1[0].bn3.weight == 0)
    m.train()
    bns = [x for x in m.modules() if isinstance(x, _BatchNorm)]
    assert not any(x.training for x in bns) and m.conv1.training
    before = m.bn1.running_mean.clone()
    m(torch.rand(1, 3, 64, 64))
    assert torch.equal(m.bn1.running_mean, before)
    m = HRNet(hrnet_extra(4, blocks=1, modules=(1, 1, 1)), norm_eval=False).train()
    assert all(x.training for x in m.modules() if isinstance(x, _BatchNorm))


def test_hrnet_bad_extra():
    extra = hrnet_extra(4)
    extra['stage3'] = dict(extra['stage3'], num_channels=(4, 8))
    with pytest.raises(InvalidArgumentError, match=r'stage3 has num_branches=3 but num_channels=\(4, 8\)'):
        HRNet(extra)
    extra = hrnet_extra(4)
    extra['stage2'] = dict(extra['stage2'], block='BASICC')
    with pytest.raises(InvalidArgumentError, match='BASICC'):
        HRNet(extra)
    with pytest.raises(InvalidArgumentError, match='stage4'):
        HRNet({k: v for k, v in hrnet_extra(4).items() if k != 'stage4'})


def test_hrnet_pretrained_name_resolves(tmp_path, monkeypatch):
    """``open-mmlab://msra/hrnetv2_w18`` is mmcv's name for the file ``hrnetv2_w18-00eb2006.pth``."""
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    (tmp_path / 'checkpoints').mkdir()
    (tmp_path / 'checkpoints' / 'hrnetv2_w18-00eb2006.pth').write_bytes(b'')
    try:
        path = ckpt_mod.resolve_pretrained('open-mmlab://msra/hrnetv2_w18')
    except FileNotFoundError:
        pytest.skip("mmdet/runner/checkpoint.py has no alias 'msra/hrnetv2_w18' -> 'hrnetv2_w18' yet")
    assert path.endswith('hrnetv2_w18-00eb2006.pth')


def test_hrfpn_options():
    n = HRFPN([4, 8], 8, num_outs=3, pooling_type='MAX')
    assert n.pooling is F.max_pool2d and n.reduction_conv.conv.in_channels == 12
    assert n.reduction_conv.conv.bias is not None and n.fpn_convs[0].conv.stride == (1, 1)
    outs = n([torch.rand(1, 4, 16, 16), torch.rand(1, 8, 8, 8)])
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 16), (1, 8, 8, 8), (1, 8, 4, 4)]
    with pytest.raises(InvalidArgumentError, match='pooling_type'):
        HRFPN([4, 8], 8, pooling_type='avg')
    with pytest.raises(InvalidArgumentError, match='expects 2 inputs'):
        n([torch.rand(1, 4, 16, 16)])
    with pytest.warns(UserWarning, match='norm_cfg'):
        HRFPN([4, 8], 8, norm_cfg=dict(type='BN'))
    n = HRFPN([4, 8], 8, with_cp=True)
    x = [torch.rand(1, 4, 16, 16, requires_grad=True), torch.rand(1, 8, 8, 8)]
    sum(o.sum() for o in n(x)).backward()
    assert x[0].grad is not None and n.fpn_convs[4].conv.weight.grad is not None


# -------------------------------------------------------------------------------- training steps
def _batch(h=64, w=64, n=1):
    metas = [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32),
                  flip=False, flip_direction=None) for _ in range(n)]
    g = torch.Generator().manual_seed(0)
    img = torch.randn(n, 3, h, w, generator=g)
    gt_bboxes = [torch.tensor([[6., 8., 40., 50.], [30., 20., 62., 60.]])] * n
    gt_labels = [torch.tensor([1, 5])] * n
    return dict(img=img, img_metas=metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels)


def _check_step(model):
    model.train()
    losses = model(**_batch())
    total = 0
    for k, v in losses.items():
        v = sum(v) if isinstance(v, (list, tuple)) else v
        assert torch.isfinite(v).all(), k
        total = total + v
    assert float(total.detach()) > 0
    total.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    model.eval()
    batch = _batch()
    with torch.no_grad():
        results = model.simple_test(batch['img'], batch['img_metas'], rescale=True)
    assert len(results) == 1 and len(results[0]) == 80


def test_retinanet_regnet_training_step_and_inference():
    torch.manual_seed(0)
    model = build_detector(load('regnet/retinanet_regnetx-800MF_fpn_1x_coco.py').model)
    _check_step(model)
    assert not model.backbone.layer1[0].conv1.weight.requires_grad  # frozen_stages=1
    assert model.backbone.layer1[0].conv1.weight.grad is None


def test_fcos_hrnet_training_step_and_inference():
    reason = fcos_available()
    if reason:
        pytest.skip(reason)
    torch.manual_seed(0)
    _check_step(build_detector(load('hrnet/fcos_hrnetv2p_w18_gn-head_4x4_1x_coco.py').model))


def test_hrnet_w18_backbone_and_neck_train_step(tmp_path):
    """The HRNet config's backbone + HRFPN on their own: gradients reach every parameter."""
    torch.manual_seed(0)
    backbone, neck = load_hrnet_backbone_neck('hrnet/fcos_hrnetv2p_w18_gn-head_4x4_1x_coco.py', tmp_path)
    b, n = build_backbone(backbone), build_neck(neck)
    b.init_weights()
    n.init_weights()
    b.train()
    n.train()
    outs = n(b(torch.randn(1, 3, 64, 64)))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 64 // s, 64 // s) for s in (8, 16, 32, 64)] + [(1, 256, 1, 1)]
    sum((o ** 2).mean() for o in outs).backward()
    params = list(b.named_parameters()) + list(n.named_parameters())
    assert not [k for k, p in params if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in params)


TINY_REGNET = dict(w0=8, wa=8.0, wm=2.0, group_w=8, depth=4, bot_mul=1.0)  # widths 8, 16, 32


def test_retinanet_tiny_regnet_loss_falls():
    torch.manual_seed(0)
    cfg = load('regnet/retinanet_regnetx-3.2GF_fpn_1x_coco.py')
    cfg.model.backbone.update(arch=TINY_REGNET, out_indices=(0, 1, 2), stem_channels=8, frozen_stages=-1,
                              norm_eval=False)
    cfg.model.neck.update(in_channels=[8, 16, 32], out_channels=16, start_level=0, num_outs=3)
    cfg.model.bbox_head.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1)
    cfg.model.bbox_head.anchor_generator.strides = [4, 8, 16]
    model = build_detector(cfg.model)
    model.train()
    batch = _batch()
    batch['gt_labels'] = [torch.tensor([0, 2])]
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    totals = []
    for _ in range(40):
        losses = model(**batch)
        total = sum(sum(v) if isinstance(v, (list, tuple)) else v for v in losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(float(total.detach()))
    assert np.mean(totals[-5:]) < 0.5 * np.mean(totals[:3]), totals


# -------------------------------------------------------------------- tools/train.py + tools/test.py
def _py(script, *args):
    from tests.conftest import run_env
    out = subprocess.run([sys.executable, osp.join(ROOT, script), *map(str, args)], cwd=ROOT, env=run_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f'{script} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}'
    return out.stdout + out.stderr


def test_retinanet_regnetx_400mf_train_and_test_tools(tmp_path, shapes_data):
    base = osp.join(ROOT, 'configs', 'regnet', 'retinanet_regnetx-3.2GF_fpn_1x_coco.py')
    cfg = tmp_path / 'retinanet_regnetx_400mf_shapes.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {base!r}
        custom_imports = dict(imports=['mmdet.models.backbones.regnet'], allow_failed_imports=False)
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(arch='regnetx_400mf', frozen_stages=-1, norm_eval=False),
            neck=dict(in_channels=[32, 64, 160, 384], out_channels=32),
            bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1),
            test_cfg=dict(score_thr=0.0001))
        img_norm_cfg = dict(mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], to_rgb=False)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(160, 128), keep_ratio=True),
            dict(type='RandomFlip', flip_ratio=0.5),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
        ]
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(160, 128), flip=False,
                 transforms=[
                     dict(type='Resize', keep_ratio=True),
                     dict(type='RandomFlip'),
                     dict(type='Normalize', **img_norm_cfg),
                     dict(type='Pad', size_divisor=32),
                     dict(type='ImageToTensor', keys=['img']),
                     dict(type='Collect', keys=['img']),
                 ])
        ]
        data_root = {shapes_data + '/'!r}
        data = dict(
            samples_per_gpu=2, workers_per_gpu=0,
            train=dict(classes=classes, ann_file=data_root + 'annotations/instances_train.json',
                       img_prefix=data_root + 'train/', pipeline=train_pipeline),
            val=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                     img_prefix=data_root + 'val/', pipeline=test_pipeline),
            test=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                      img_prefix=data_root + 'val/', pipeline=test_pipeline))
        optimizer = dict(lr=0.005)
        lr_config = dict(warmup_iters=2)
        runner = dict(type='EpochBasedRunner', max_epochs=1)
        log_config = dict(interval=1)
        evaluation = dict(interval=1, metric='bbox')
        swa_training = False
    '''))
    work = tmp_path / 'work'
    log = _py('tools/train.py', cfg, '--work-dir', work, '--seed', 0, '--no-validate')
    assert (work / 'epoch_1.pth').is_file(), log[-2000:]
    ckpt = torch.load(work / 'epoch_1.pth', weights_only=False)
    assert 'backbone.layer4.11.conv2.weight' in ckpt['state_dict']
    out = _py('tools/test.py', cfg, work / 'epoch_1.pth', '--eval', 'bbox')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out
    assert re.search(r"'bbox_mAP': [0-9.]+", out), out[-2000:]
