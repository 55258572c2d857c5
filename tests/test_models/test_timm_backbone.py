"""VFNet on other backbones: TIMMBackbone (timm ConvNeXt / Swin / EfficientNet, local-file weights),
layer-wise lr decay, and 2.x's ResNeSt and MobileNetV2 (``configs/vfnet_backbones``).

ResNeSt / MobileNetV2 are checked against the original 2.x code: its state-dict layouts and its
outputs for a fixed input with deterministic weights (``tests/data/fidelity/layouts_2x_timm.json``).
timm is an optional extra: the tests that need it skip without it.
"""
import glob
import importlib.util
import json
import math
import os.path as osp
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import mmdet.models.backbones.mobilenet_v2 as mobilenet_v2
import mmdet.models.backbones.resnest as resnest
import mmdet.models.backbones.timm_backbone as timm_backbone
import mmdet.runner.layer_decay  # noqa: F401  (registers LayerDecayOptimizerConstructor)
from mmdet.models import build_backbone, build_detector
from mmdet.runner.optimizer import build_optimizer
from mmdet.utils import Config
from tests.conftest import run_env
from tests.fidelity import deterministic_value

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REF = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts_2x_timm.json')))
VFNET_LAYOUT = json.load(open(osp.join(ROOT, 'tests', 'data', 'fidelity', 'layouts.json')))['vfnet_r50_fpn_1x_coco.py']
CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                 for p in glob.glob(osp.join(ROOT, 'configs', 'vfnet_backbones', '*.py')))
TIMM_CONFIGS = [c for c in CONFIGS if 'TIMMBackbone' in open(osp.join(ROOT, 'configs', c)).read()]
HAS_TIMM = importlib.util.find_spec('timm') is not None
needs_timm = pytest.mark.skipif(not HAS_TIMM, reason='timm (optional extra) is not installed')
TINY_SWIN = dict(model_name='swin_tiny_patch4_window7_224', embed_dim=32, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                 strict_img_size=False)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty local torch hub cache (and HF cache): ``<tmp>/torch/hub/checkpoints``."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path / 'hf'))
    d = tmp_path / 'torch' / 'hub' / 'checkpoints'
    d.mkdir(parents=True)
    return d


# ------------------------------------------------------------------ helpers
def vfnet(backbone, in_channels, width=32):
    """A small VFNet (the seed config's head, ``width`` channels) on ``backbone``."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'))
    cfg.model.pretrained = None
    cfg.model.backbone = backbone
    cfg.model.neck.update(in_channels=list(in_channels), out_channels=width)
    cfg.model.bbox_head.update(num_classes=3, in_channels=width, feat_channels=width, stacked_convs=1,
                               norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    return build_detector(cfg.model)


def batch(size=64, n=1):
    metas = [dict(img_shape=(size, size, 3), pad_shape=(size, size, 3), ori_shape=(size, size, 3),
                  scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None) for _ in range(n)]
    g = torch.Generator().manual_seed(0)
    img = torch.randn(n, 3, size, size, generator=g)
    s = size / 64
    boxes = [torch.tensor([[6., 8., 40., 44.], [30., 20., 60., 58.]]) * s for _ in range(n)]
    return dict(img=img, img_metas=metas, gt_bboxes=boxes, gt_labels=[torch.tensor([0, 2]) for _ in range(n)])


def total_loss(losses):
    return sum(sum(v) if isinstance(v, (list, tuple)) else v for v in losses.values())


def loss_curve(model, steps=20, lr=2e-3):
    torch.manual_seed(0)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.)
    data, curve = batch(), []
    for _ in range(steps):
        loss = total_loss(model(**data))
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(loss.item())
    return curve


def fill_deterministic(module):
    sd = module.state_dict()
    module.load_state_dict({k: torch.from_numpy(np.asarray(deterministic_value(k, v.shape))).to(v.dtype)
                            for k, v in sd.items()})


# ------------------------------------------------------------------ timm: optional extra
def test_missing_timm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'timm', None)  # `import timm` now raises ImportError
    with pytest.raises(ImportError, match=r'optional extra timm: pip install timm'):
        timm_backbone.TIMMBackbone('convnext_atto')


@needs_timm
def test_feature_maps_channels_strides_and_out_indices():
    x = torch.randn(1, 3, 64, 64)
    b = build_backbone(dict(type='TIMMBackbone', model_name='convnext_atto')).eval()
    assert (b.out_channels, b.strides, b.out_indices) == ([40, 80, 160, 320], [4, 8, 16, 32], (0, 1, 2, 3))
    assert [tuple(o.shape) for o in b(x)] == [(1, 40, 16, 16), (1, 80, 8, 8), (1, 160, 4, 4), (1, 320, 2, 2)]
    b = timm_backbone.TIMMBackbone('convnext_atto', out_indices=(1, 3)).eval()
    assert (b.out_channels, b.strides) == ([80, 320], [8, 32])
    assert [tuple(o.shape) for o in b(x)] == [(1, 80, 8, 8), (1, 320, 2, 2)]
    # Swin's channels-last maps come back channels-first, for any size divisible by the patch
    b = timm_backbone.TIMMBackbone(**TINY_SWIN).eval()
    assert b.channels_last and b.out_channels == [32, 64, 128, 256]
    assert [tuple(o.shape) for o in b(torch.randn(1, 3, 96, 160))] == \
        [(1, 32, 24, 40), (1, 64, 12, 20), (1, 128, 6, 10), (1, 256, 3, 5)]
    b = timm_backbone.TIMMBackbone('convnext_atto', features_only=False).eval()
    assert b.out_channels == [320] and [tuple(o.shape) for o in b(x)] == [(1, 320, 2, 2)]
    with pytest.raises(ValueError, match="'convnext_nope' is not a timm"):
        timm_backbone.TIMMBackbone('convnext_nope')


@needs_timm
def test_frozen_stages_and_norm_eval():
    # convnext_atto: the stem only / stem + stages 0, 1
    b = timm_backbone.TIMMBackbone('convnext_atto', frozen_stages=0).train()
    frozen = {n.split('.')[0] for n, p in b.timm_model.named_parameters() if not p.requires_grad}
    assert frozen == {'stem_0', 'stem_1'}
    b = timm_backbone.TIMMBackbone('convnext_atto', frozen_stages=2).train()
    frozen = {n.split('.')[0] for n, p in b.timm_model.named_parameters() if not p.requires_grad}
    assert frozen == {'stem_0', 'stem_1', 'stages_0', 'stages_1'}
    # a BN model whose levels sit inside one container (timm's MobileNetV3 features: bn1, blocks.0, ...)
    b = timm_backbone.TIMMBackbone('mobilenetv3_small_050', frozen_stages=2).train()
    assert b.level_modules[:3] == ['bn1', 'blocks.0', 'blocks.1']
    for n, p in b.timm_model.named_parameters():
        assert p.requires_grad == n.startswith(('blocks.1', 'blocks.2', 'blocks.3', 'blocks.4', 'blocks.5')), n
    bns = {n: m for n, m in b.timm_model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert not bns['bn1'].training and not bns['blocks.0.0.bn1'].training and bns['blocks.1.0.bn1'].training
    b = timm_backbone.TIMMBackbone('mobilenetv3_small_050', norm_eval=True).train()
    assert all(not m.training for m in b.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert all(p.requires_grad for p in b.parameters())
    with pytest.raises(ValueError, match=r'frozen_stages must be an int in \[-1, 4\]'):
        timm_backbone.TIMMBackbone('convnext_atto', frozen_stages=5)


@needs_timm
def test_convnext_vfnet_loss_falls():
    b = timm_backbone.TIMMBackbone('convnext_atto')
    curve = loss_curve(vfnet(dict(type='TIMMBackbone', model_name='convnext_atto'), b.out_channels))
    assert min(curve[-3:]) < 0.7 * curve[0], curve


@needs_timm
def test_tiny_swin_vfnet_loss_falls():
    curve = loss_curve(vfnet(dict(type='TIMMBackbone', **TINY_SWIN), [32, 64, 128, 256]))
    assert min(curve[-3:]) < 0.7 * curve[0], curve


# ------------------------------------------------------------------ timm: pretrained from local files
@needs_timm
def test_pretrained_from_a_local_file_and_by_timm_name(hub, tmp_path):
    import timm
    torch.manual_seed(1)
    classifier = timm.create_model('convnext_atto', pretrained=False)  # what timm's ImageNet file holds
    path = tmp_path / 'convnext_atto_in1k.pth'
    torch.save(classifier.state_dict(), path)
    ref = classifier.state_dict()

    def check(backbone):
        sd = backbone.timm_model.state_dict()
        assert set(ref) - {k.replace('_', '.', 1) if k.startswith('stem_') or k.startswith('stages_') else k
                           for k in sd} == {'head.norm.weight', 'head.norm.bias', 'head.fc.weight', 'head.fc.bias'}
        for k, v in sd.items():
            src = k if k in ref else k.replace('_', '.', 1)  # stem_0.weight <- stem.0.weight
            assert torch.equal(v, ref[src]), k

    b = timm_backbone.TIMMBackbone('convnext_atto', pretrained=str(path))
    b.init_weights()
    check(b)
    # 'timm://<name>' (or pretrained=True) reads <hub>/<name>.pth, nothing else
    torch.save(classifier.state_dict(), hub / 'convnext_atto.pth')
    b = timm_backbone.TIMMBackbone('convnext_atto', pretrained=True)
    b.init_weights()
    check(b)
    # through a detector's model-level pretrained, as the configs do; then its checkpoint loads back
    model = vfnet(dict(type='TIMMBackbone', model_name='convnext_atto'), [40, 80, 160, 320])
    model.init_weights('timm://convnext_atto')
    check(model.backbone)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'det.pth')
    b = timm_backbone.TIMMBackbone('convnext_atto', checkpoint_path=str(tmp_path / 'det.pth'))
    b.init_weights()
    check(b)
    # the original repository's layout (ConvNeXt's own checkpoints): converted by timm's checkpoint filter
    def to_facebook(k):
        k = re.sub(r'^stem\.', 'downsample_layers.0.', k)
        k = re.sub(r'^stages\.(\d+)\.downsample\.', r'downsample_layers.\1.', k)
        k = re.sub(r'^stages\.(\d+)\.blocks\.', r'stages.\1.', k)
        return k.replace('conv_dw', 'dwconv').replace('mlp.fc', 'pwconv').replace('head.fc.', 'head.') \
            .replace('head.norm.', 'norm.')
    torch.save({'model': {to_facebook(k): v for k, v in ref.items()}}, tmp_path / 'convnext_fb.pth')
    b = timm_backbone.TIMMBackbone('convnext_atto', pretrained=str(tmp_path / 'convnext_fb.pth'))
    b.init_weights()
    check(b)
    # another model's weights: an error naming what does not fit
    torch.save(timm.create_model('convnext_femto').state_dict(), tmp_path / 'femto.pth')
    with pytest.raises(RuntimeError, match=r"does not hold the weights of timm model 'convnext_atto'.*shape mismatch"):
        timm_backbone.TIMMBackbone('convnext_atto', pretrained=str(tmp_path / 'femto.pth')).init_weights()


@needs_timm
def test_missing_pretrained_file_says_where_to_put_it(hub, tmp_path):
    b = timm_backbone.TIMMBackbone('convnext_atto', pretrained='timm://convnext_atto.d2_in1k')
    with pytest.raises(FileNotFoundError) as e:
        b.init_weights()
    msg = str(e.value)
    assert msg.startswith("TIMMBackbone: no local pretrained weights for timm model 'convnext_atto.d2_in1k', and "
                          'this toolbox does not download them: put a timm state dict at '
                          f'{hub / "convnext_atto.d2_in1k.pth"} ')
    assert str(hub / 'convnext_atto_d2-01bb0f51.pth') in msg  # where timm's own URL download would be
    assert osp.join(str(tmp_path / 'hf'), 'models--timm--convnext_atto.d2_in1k', 'snapshots', '*',
                    'model.safetensors') in msg
    # a detector built from a config whose weights are missing fails at build, naming the file
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vfnet_backbones', 'vfnet_convnext-t_fpn_1x_coco.py'))
    with pytest.raises(FileNotFoundError, match=re.escape(str(hub / 'convnext_tiny.fb_in1k.pth'))):
        build_detector(cfg.model)
    with pytest.raises(FileNotFoundError, match='TIMMBackbone: pretrained weight file not found: /no/such.pth'):
        timm_backbone.TIMMBackbone('convnext_atto', pretrained='/no/such.pth').init_weights()
    with pytest.raises(ValueError, match=r"got 'torchvision://resnet50' \(the model-level pretrained= of a base"):
        timm_backbone.TIMMBackbone('convnext_atto').init_weights('torchvision://resnet50')


# ------------------------------------------------------------------ layer-wise lr decay
@needs_timm
def test_layer_decay_lr_of_every_parameter_convnext():
    model = vfnet(dict(type='TIMMBackbone', model_name='convnext_atto'), [40, 80, 160, 320])
    base_lr, wd, rate = 1e-3, 0.05, 0.8
    opt = build_optimizer(model, dict(type='AdamW', lr=base_lr, weight_decay=wd,
                                      constructor='LayerDecayOptimizerConstructor',
                                      paramwise_cfg=dict(decay_rate=rate)))
    # convnext_atto has depths (2, 2, 6, 2): num_layers = 3 + ceil(6 / 3) = 5, the head gets 6
    def expected_id(name):
        if not name.startswith('backbone.'):
            return 6
        n = name[len('backbone.timm_model.'):]
        if n.startswith('stem_'):
            return 0
        stage = int(n[len('stages_')])
        if stage == 2 and '.blocks.' in n:
            return 3 + int(n.split('.')[2]) // 3
        return {0: 1, 1: 2, 2: 3, 3: 5}[stage]

    groups = {g['param_name']: g for g in opt.param_groups}
    params = dict(model.named_parameters())
    assert set(groups) == set(params)
    ids = set()
    for name, p in params.items():
        g = groups[name]
        assert g['params'][0] is p
        lid = expected_id(name)
        ids.add(lid)
        assert g['layer_id'] == lid, name
        assert g['lr'] == pytest.approx(base_lr * rate ** (5 + 1 - lid)), name
        assert g['weight_decay'] == (0. if p.ndim == 1 else wd), name
    assert ids == {0, 1, 2, 3, 4, 5, 6}
    loss = total_loss(model.train()(**batch()))
    loss.backward()
    opt.step()  # a valid optimizer
    with pytest.raises(ValueError, match=r'needs num_layers >= 5, got num_layers=4'):
        build_optimizer(model, dict(type='AdamW', lr=1e-3, constructor='LayerDecayOptimizerConstructor',
                                    paramwise_cfg=dict(decay_rate=0.8, num_layers=4)))


@needs_timm
def test_layer_decay_swin_ids_and_bad_backbones():
    model = vfnet(dict(type='TIMMBackbone', **dict(TINY_SWIN, depths=(2, 2, 2, 2))), [32, 64, 128, 256])
    opt = build_optimizer(model, dict(type='AdamW', lr=1.0, weight_decay=0.05,
                                      constructor='LayerDecayOptimizerConstructor',
                                      paramwise_cfg=dict(decay_rate=0.5)))
    g = {x['param_name'][len('backbone.timm_model.'):]: x for x in opt.param_groups}
    # one id per block (8 blocks: num_layers 8); the patch merging that opens stage s ends stage s - 1
    assert g['patch_embed.proj.weight']['layer_id'] == 0
    assert g['layers_0.blocks.0.attn.qkv.weight']['layer_id'] == 1
    assert g['layers_1.downsample.reduction.weight']['layer_id'] == 2
    assert g['layers_2.blocks.1.mlp.fc1.weight']['layer_id'] == 6
    assert g['layers_3.blocks.1.mlp.fc2.weight']['layer_id'] == 8
    assert g['layers_3.blocks.1.mlp.fc2.weight']['lr'] == 0.5 and g['patch_embed.proj.weight']['lr'] == 0.5 ** 9
    assert g['layers_0.blocks.0.attn.relative_position_bias_table']['weight_decay'] == 0.
    resnet = vfnet(dict(type='ResNet', depth=18), [64, 128, 256, 512])
    with pytest.raises(ValueError, match='needs model.backbone to be a TIMMBackbone'):
        build_optimizer(resnet, dict(type='SGD', lr=0.1, constructor='LayerDecayOptimizerConstructor',
                                     paramwise_cfg=dict(decay_rate=0.8)))
    with pytest.raises(KeyError, match='needs paramwise_cfg.decay_rate'):
        build_optimizer(model, dict(type='SGD', lr=0.1, constructor='LayerDecayOptimizerConstructor',
                                    paramwise_cfg=dict(num_layers=8)))


# ------------------------------------------------------------------ ResNeSt and MobileNetV2 against 2.x
@pytest.mark.parametrize('name', sorted(REF['backbones']))
def test_backbone_matches_the_original(name):
    """Same layout (key for key, in order) and, with the same weights, the same outputs as 2.x."""
    ref = REF['backbones'][name]
    model = build_backbone(ref['cfg'])
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == ref['layout']
    assert list(model.state_dict()) == list(ref['layout'])
    fill_deterministic(model)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32))
    with torch.no_grad():
        outs = model.eval()(x)
    assert len(outs) == len(ref['outputs'])
    for out, r in zip(outs, ref['outputs']):
        assert list(out.shape) == r['shape']
        flat = out.flatten().double().numpy()
        np.testing.assert_allclose(flat[r['pick']], r['values'], rtol=1e-4, atol=1e-5)
        assert flat.mean() == pytest.approx(r['mean'], rel=1e-4, abs=1e-6)
        assert np.abs(flat).mean() == pytest.approx(r['abs_mean'], rel=1e-4)


def test_resnest_and_mobilenet_v2_strides_freezing_norm_eval():
    x = torch.randn(1, 3, 64, 64)
    m = mobilenet_v2.MobileNetV2(widen_factor=0.5, out_indices=(0, 1, 2, 3, 4, 5, 6, 7), frozen_stages=2,
                                 norm_eval=True).train()
    assert m.out_strides == [2, 4, 8, 16, 16, 32, 32, 32] and m.out_channels == [8, 16, 16, 32, 48, 80, 160, 1280]
    assert [tuple(o.shape[1:]) for o in m(x)] == [(c, 64 // s, 64 // s) for c, s in zip(m.out_channels, m.out_strides)]
    for n, p in m.named_parameters():
        assert p.requires_grad == (not n.startswith(('conv1.', 'layer1.', 'layer2.'))), n
    assert not any(mod.training for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d))
    with pytest.raises(ValueError, match=r'frozen_stages must be an int in \[-1, 7\], got 8'):
        mobilenet_v2.MobileNetV2(frozen_stages=8)
    r = resnest.ResNeSt(depth=50, stem_channels=32, base_channels=16, frozen_stages=1, norm_eval=False).train()
    # (a batch of 2: training-mode BN of the 1x1 attention needs more than one value per channel, as in 2.x)
    assert [tuple(o.shape) for o in r(x.repeat(2, 1, 1, 1))] == \
        [(2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4), (2, 512, 2, 2)]
    assert not any(p.requires_grad for p in list(r.stem.parameters()) + list(r.layer1.parameters()))
    assert all(p.requires_grad for p in r.layer2.parameters()) and r.layer2[0].bn1.training
    assert isinstance(r.layer2[0].avd_layer, torch.nn.AvgPool2d) and r.layer2[0].conv2.conv.stride == (1, 1)
    with pytest.raises(ValueError, match='ResNeSt radix must be a positive int, got 0'):
        resnest.ResNeSt(depth=50, radix=0)


def test_2x_pretrained_names_resolve_locally(hub):
    # a missing ResNeSt file: the error names the file mmcv would have downloaded
    model = resnest.ResNeSt(depth=50, stem_channels=64)
    with pytest.raises(FileNotFoundError) as e:
        model.init_weights('open-mmlab://resnest50')
    assert str(e.value) == (
        "ResNeSt: pretrained weights 'open-mmlab://resnest50' are not on this machine and this toolbox does not "
        f"download them: put the file at {hub / 'resnest50_d2-<hash>.pth'} (e.g. copied from a machine with "
        'internet access), give a local path, or set pretrained=None')
    # the 2.x file (backbone keys + the classifier's fc) loads every backbone tensor
    torch.manual_seed(0)
    src = resnest.ResNeSt(depth=50, stem_channels=64)
    sd = dict(src.state_dict(), **{'fc.weight': torch.zeros(1000, 2048), 'fc.bias': torch.zeros(1000)})
    torch.save(sd, hub / 'resnest50_d2-7497a55b.pth')
    model.init_weights('open-mmlab://resnest50')
    assert all(torch.equal(v, sd[k]) for k, v in model.state_dict().items())
    # MobileNetV2: mmdet's converted file, and MMClassification's own (renamed on loading)
    src = mobilenet_v2.MobileNetV2()
    fill_deterministic(src)
    torch.save({'state_dict': src.state_dict()}, hub / 'mobilenet_v2_batch256_imagenet-ff34753d.pth')
    m = mobilenet_v2.MobileNetV2()
    m.init_weights('open-mmlab://mmdet/mobilenet_v2')
    assert all(torch.equal(v, src.state_dict()[k]) for k, v in m.state_dict().items())

    def to_mmcls(k):
        layer = re.match(r'layer(\d+)\.\d+\.(expand_conv|depthwise_conv|linear_conv)\.', k)
        if layer is None:
            return 'backbone.' + k
        names = ['expand_conv', 'depthwise_conv', 'linear_conv'][layer.group(1) == '1':]
        return 'backbone.' + k.replace(layer.group(2), f'conv.{names.index(layer.group(2))}', 1)
    mmcls = {to_mmcls(k): v for k, v in src.state_dict().items()}
    assert 'backbone.layer1.0.conv.1.conv.weight' in mmcls and 'backbone.layer2.0.conv.2.bn.weight' in mmcls
    mmcls['head.fc.weight'] = torch.zeros(1000, 1280)
    torch.save({'state_dict': mmcls}, hub / 'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth')
    m = mobilenet_v2.MobileNetV2()
    m.init_weights('mmcls://mobilenet_v2')
    assert all(torch.equal(v, src.state_dict()[k]) for k, v in m.state_dict().items())


# ------------------------------------------------------------------ configs/vfnet_backbones
def load(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    cfg.model.pretrained = None
    return cfg


def skip_unavailable(name):
    if name in TIMM_CONFIGS and not HAS_TIMM:
        pytest.skip('timm (optional extra) is not installed')


def test_every_config_inherits_the_seed_and_changes_only_the_backbone():
    assert len(CONFIGS) == 6
    seed = Config.fromfile(osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'))
    for name in CONFIGS:
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
        assert open(osp.join(ROOT, 'configs', name)).read().count("_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'")
        a, b = (json.loads(json.dumps(c.model, default=str)) for c in (cfg, seed))
        for d in (a, b):
            d.pop('backbone'), d.pop('pretrained'), d['neck'].pop('in_channels')
        assert a == b, name
        assert cfg.optimizer == seed.optimizer and cfg.lr_config == seed.lr_config


@pytest.mark.parametrize('name', CONFIGS)
def test_config_layout(name):
    skip_unavailable(name)
    cfg = load(name)
    model = build_detector(cfg.model)
    layout = {k: list(v.shape) for k, v in model.state_dict().items()}
    if name in REF['configs']:  # the 2.x backbone + the seed's neck and head
        assert layout == REF['configs'][name]
        return
    # timm: the timm model's own keys under backbone.timm_model, the seed's neck and head
    import timm
    kwargs = {k: v for k, v in cfg.model.backbone.items() if k not in ('type', 'model_name', 'frozen_stages',
                                                                       'norm_eval')}
    ref = timm.create_model(cfg.model.backbone.model_name, features_only=True, **kwargs).state_dict()
    expected = {'backbone.timm_model.' + k: list(v.shape) for k, v in ref.items()}
    for k, v in VFNET_LAYOUT.items():
        if not k.startswith('backbone.'):
            expected[k] = v
    for i, c in enumerate(cfg.model.neck.in_channels[1:]):
        expected[f'neck.lateral_convs.{i}.conv.weight'] = [256, c, 1, 1]
    assert layout == expected
    assert model.backbone.out_channels == cfg.model.neck.in_channels and model.backbone.strides == [4, 8, 16, 32]


@pytest.mark.parametrize('name', CONFIGS)
def test_config_training_step_and_inference(name):
    skip_unavailable(name)
    torch.manual_seed(0)
    model = build_detector(load(name).model)
    model.train()
    loss = total_loss(model(**batch()))
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not [n for n, p in trainable if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    model.eval()
    data = batch()
    with torch.no_grad():
        results = model.simple_test(data['img'], data['img_metas'], rescale=True)
    assert len(results) == 1 and len(results[0]) == 80


# ------------------------------------------------------------------ tools/train.py + tools/test.py
@needs_timm
def test_end_to_end_convnext_on_shapes(tmp_path, shapes_data):
    """Train VFNet on timm ConvNeXt-atto (a child of the ConvNeXt-T config) with tools/train.py, with
    layer-wise lr decay, then evaluate with tools/test.py --eval bbox."""
    base = osp.join(ROOT, 'configs', 'vfnet_backbones', 'vfnet_convnext-t_fpn_1x_coco.py')
    cfg = tmp_path / 'vfnet_convnext_atto_shapes.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {base!r}
        custom_imports = dict(imports=['mmdet.models.backbones.timm_backbone', 'mmdet.runner.layer_decay'],
                              allow_failed_imports=False)
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(model_name='convnext_atto', drop_path_rate=0.),
            neck=dict(in_channels=[40, 80, 160, 320], out_channels=32),
            bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1,
                           norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
            test_cfg=dict(score_thr=0.0001))
        img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(128, 96), keep_ratio=True),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
        ]
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(128, 96), flip=False,
                 transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                             dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                             dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img'])])
        ]
        data_root = {shapes_data + '/'!r}
        data = dict(
            samples_per_gpu=4, workers_per_gpu=0,
            train=dict(classes=classes, ann_file=data_root + 'annotations/instances_train.json',
                       img_prefix=data_root + 'train/', pipeline=train_pipeline),
            val=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                     img_prefix=data_root + 'val/', pipeline=test_pipeline),
            test=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                      img_prefix=data_root + 'val/', pipeline=test_pipeline))
        optimizer = dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05,
                         constructor='LayerDecayOptimizerConstructor', paramwise_cfg=dict(decay_rate=0.8))
        lr_config = dict(warmup_iters=2)
        runner = dict(type='EpochBasedRunner', max_epochs=2)
        evaluation = dict(interval=2, metric='bbox')
        checkpoint_config = dict(interval=2)
        log_config = dict(interval=1)
        swa_training = False
    '''))
    work = tmp_path / 'work'

    def py(*args):
        out = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, env=run_env(), capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out.stdout + out.stderr

    log = py(osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', work, '--seed', 0)
    assert (work / 'epoch_2.pth').is_file() and 'bbox_mAP' in log
    ckpt = torch.load(work / 'epoch_2.pth', weights_only=False)
    assert any(k.startswith('backbone.timm_model.stages_3.') for k in ckpt['state_dict'])
    lrs = sorted({round(g['lr'] / g['initial_lr'], 6) for g in ckpt['optimizer']['param_groups']})
    assert len(lrs) == 1  # the schedule scales every layer's lr alike
    assert len({g['initial_lr'] for g in ckpt['optimizer']['param_groups']}) == 7  # 6 layer ids + the head
    out = py(osp.join(ROOT, 'tools', 'test.py'), cfg, work / 'epoch_2.pth', '--eval', 'bbox')
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out
    assert math.isfinite(float(re.search(r"'bbox_mAP': ([0-9.]+)", out).group(1)))
