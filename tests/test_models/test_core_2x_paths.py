"""MMDetection 2.x import paths, signatures and return conventions of the core
box / anchor components, the samplers and ``mmdet.models.utils``."""
import importlib

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmdet.utils import BuildError


def _boxes(n, scale=50., seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * scale
    wh = torch.rand(n, 2, generator=g) * scale + 1
    return torch.cat([xy, xy + wh], dim=1)


# --------------------------------------------------------------------------- import paths

@pytest.mark.parametrize('module, names', [
    ('mmdet.core.bbox.builder', ['BBOX_ASSIGNERS', 'BBOX_SAMPLERS', 'BBOX_CODERS', 'build_assigner',
                                 'build_sampler', 'build_bbox_coder']),
    ('mmdet.core.anchor.builder', ['ANCHOR_GENERATORS', 'build_anchor_generator']),
    ('mmdet.core.anchor', ['ANCHOR_GENERATORS', 'build_anchor_generator', 'AnchorGenerator', 'images_to_levels',
                           'anchor_inside_flags']),
    ('mmdet.core.anchor.utils', ['images_to_levels', 'anchor_inside_flags']),
    ('mmdet.core.bbox.iou_calculators', ['BboxOverlaps2D', 'bbox_overlaps', 'build_iou_calculator',
                                         'IOU_CALCULATORS']),
    ('mmdet.core.bbox.iou_calculators.iou2d_calculator', ['BboxOverlaps2D', 'bbox_overlaps']),
    ('mmdet.core.bbox.iou_calculators.builder', ['IOU_CALCULATORS', 'build_iou_calculator']),
    ('mmdet.core.bbox.assigners', ['AssignResult', 'BaseAssigner', 'MaxIoUAssigner', 'ATSSAssigner',
                                   'PointAssigner']),
    ('mmdet.core.bbox.assigners.assign_result', ['AssignResult']),
    ('mmdet.core.bbox.assigners.base_assigner', ['BaseAssigner']),
    ('mmdet.core.bbox.samplers', ['BaseSampler', 'PseudoSampler', 'RandomSampler', 'SamplingResult']),
    ('mmdet.core.bbox.samplers.base_sampler', ['BaseSampler']),
    ('mmdet.core.bbox.samplers.pseudo_sampler', ['PseudoSampler']),
    ('mmdet.core.bbox.samplers.random_sampler', ['RandomSampler']),
    ('mmdet.core.bbox.samplers.sampling_result', ['SamplingResult']),
    ('mmdet.core.bbox.demodata', ['random_boxes', 'ensure_rng']),
    ('mmdet.core.bbox.coder', ['BaseBBoxCoder', 'DeltaXYWHBBoxCoder']),
    ('mmdet.core.bbox.coder.base_bbox_coder', ['BaseBBoxCoder']),
    ('mmdet.core.bbox.coder.delta_xywh_bbox_coder', ['DeltaXYWHBBoxCoder']),
    ('mmdet.core.bbox', ['BboxOverlaps2D', 'bbox_overlaps', 'AssignResult', 'BaseAssigner', 'BaseSampler',
                         'PseudoSampler', 'RandomSampler', 'SamplingResult', 'build_assigner', 'build_sampler',
                         'build_bbox_coder', 'DeltaXYWHBBoxCoder']),
    ('mmdet.core.utils', ['multi_apply', 'unmap', 'reduce_mean', 'tensor2imgs']),
    ('mmdet.core', ['BboxOverlaps2D', 'AssignResult', 'PseudoSampler', 'RandomSampler', 'SamplingResult',
                    'build_sampler', 'multi_apply', 'unmap', 'reduce_mean', 'images_to_levels']),
    ('mmdet.models.utils', ['ResLayer', 'gaussian_radius', 'gen_gaussian_target', 'multi_apply', 'unmap',
                            'images_to_levels', 'reduce_mean']),
    ('mmdet.models.utils.res_layer', ['ResLayer']),
    ('mmdet.models.utils.gaussian_target', ['gaussian2D', 'gaussian_radius', 'gen_gaussian_target']),
])
def test_2x_import_paths(module, names):
    mod = importlib.import_module(module)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f'{module} lacks {missing}'


def test_one_registry_per_kind():
    import mmdet.core as core
    from mmdet.core.anchor import anchor_generator
    from mmdet.core.anchor import builder as anchor_builder
    from mmdet.core.bbox import builder
    from mmdet.core.bbox.assigners import base
    from mmdet.core.bbox.coder import delta_xywh
    assert base.BBOX_ASSIGNERS is builder.BBOX_ASSIGNERS is core.BBOX_ASSIGNERS
    assert delta_xywh.BBOX_CODERS is builder.BBOX_CODERS is core.BBOX_CODERS
    assert builder.BBOX_SAMPLERS is core.BBOX_SAMPLERS
    assert anchor_generator.ANCHOR_GENERATORS is anchor_builder.ANCHOR_GENERATORS is core.ANCHOR_GENERATORS
    assert core.AssignResult is base.AssignResult
    assert {'MaxIoUAssigner', 'ATSSAssigner', 'PointAssigner'} <= set(builder.BBOX_ASSIGNERS.module_dict)
    assert {'PseudoSampler', 'RandomSampler'} <= set(builder.BBOX_SAMPLERS.module_dict)
    assert 'DeltaXYWHBBoxCoder' in builder.BBOX_CODERS.module_dict
    assert 'AnchorGenerator' in anchor_builder.ANCHOR_GENERATORS.module_dict
    assert all(issubclass(c, core.BaseAssigner) for c in (core.MaxIoUAssigner, core.ATSSAssigner,
                                                          core.PointAssigner))
    assert issubclass(core.DeltaXYWHBBoxCoder, core.BaseBBoxCoder)
    assert issubclass(core.RandomSampler, core.BaseSampler) and issubclass(core.PseudoSampler, core.BaseSampler)


def test_builders_take_2x_and_dict_default_args():
    from mmdet.core.anchor.builder import build_anchor_generator
    from mmdet.core.bbox.builder import build_assigner, build_bbox_coder, build_sampler
    from mmdet.core.bbox.iou_calculators import BboxOverlaps2D, build_iou_calculator
    from mmdet.core.bbox.samplers import PseudoSampler, RandomSampler
    head = object()
    assert isinstance(build_sampler(dict(type='PseudoSampler'), context=head), PseudoSampler)
    rs = build_sampler(dict(type='RandomSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                            add_gt_as_proposals=False), context=head)
    assert isinstance(rs, RandomSampler) and (rs.num, rs.pos_fraction, rs.add_gt_as_proposals) == (16, .25, False)
    a = build_assigner(dict(type='MaxIoUAssigner', pos_iou_thr=.5), dict(neg_iou_thr=.4))
    b = build_assigner(dict(type='MaxIoUAssigner', pos_iou_thr=.5, neg_iou_thr=.3), neg_iou_thr=.4)
    assert (a.neg_iou_thr, b.neg_iou_thr) == (.4, .3)  # the config wins over defaults
    assert type(build_bbox_coder(dict(type='DeltaXYWHBBoxCoder'))).__name__ == 'DeltaXYWHBBoxCoder'
    assert isinstance(build_iou_calculator(dict(type='BboxOverlaps2D')), BboxOverlaps2D)
    gen = build_anchor_generator(dict(type='AnchorGenerator', strides=[8], ratios=[1.], scales=[4]))
    assert gen.num_base_anchors == [1]
    with pytest.raises(BuildError, match='RandomSampler'):
        build_sampler(dict(type='RandomSampplr', num=4, pos_fraction=.5))
    with pytest.raises(BuildError):
        build_assigner(dict(type='MaxIoUAssigner', pos_iou_thr=.5, neg_iou_thr=.4,
                            iou_calculator=dict(type='BboxOverlaps3D')))


# --------------------------------------------------------------------------- BboxOverlaps2D

@pytest.mark.parametrize('mode', ['iou', 'iof', 'giou'])
def test_bbox_overlaps_2d_equals_bbox_overlaps(mode):
    from mmdet.core import BboxOverlaps2D, bbox_overlaps
    calc = BboxOverlaps2D()
    b1, b2 = _boxes(7, seed=1), _boxes(5, seed=2)
    assert torch.equal(calc(b1, b2, mode=mode), bbox_overlaps(b1, b2, mode=mode))
    assert calc(b1, b2, mode).shape == (7, 5)
    assert torch.equal(calc(b1[:5], b2, mode, is_aligned=True), bbox_overlaps(b1[:5], b2, mode, is_aligned=True))
    # a trailing score column is dropped, on either side
    s1 = torch.cat([b1, torch.rand(7, 1)], dim=1)
    s2 = torch.cat([b2, torch.rand(5, 1)], dim=1)
    assert torch.equal(calc(s1, s2, mode), bbox_overlaps(b1, b2, mode))
    assert torch.equal(calc(s1, b2, mode), bbox_overlaps(b1, b2, mode))
    # batch dims
    bb1, bb2 = torch.stack([b1, b1.flip(0)]), torch.stack([b2, b2 + 3])
    assert torch.equal(calc(bb1, bb2, mode), bbox_overlaps(bb1, bb2, mode))
    assert calc(bb1, bb2, mode).shape == (2, 7, 5)


def test_bbox_overlaps_2d_values_and_errors():
    from mmdet.core import BboxOverlaps2D
    calc = BboxOverlaps2D()
    a = torch.tensor([[0., 0., 10., 10.]])
    b = torch.tensor([[0., 0., 10., 20.], [20., 20., 30., 30.], [5., 0., 15., 10.]])
    assert torch.allclose(calc(a, b), torch.tensor([[.5, 0., 50. / 150.]]))
    assert torch.allclose(calc(a, b, mode='iof'), torch.tensor([[1., 0., .5]]))
    assert calc(torch.zeros(0, 4), b).shape == (0, 3)
    assert calc(a, torch.zeros(0, 5)).shape == (1, 0)
    assert repr(calc) == 'BboxOverlaps2D()'
    with pytest.raises(ValueError, match='4'):
        calc(torch.zeros(2, 3), b)
    with pytest.raises(ValueError, match='mode'):
        calc(a, b, mode='dice')


def test_max_iou_assigner_uses_its_iou_calculator():
    from mmdet.core import BboxOverlaps2D, MaxIoUAssigner
    assigner = MaxIoUAssigner(pos_iou_thr=.5, neg_iou_thr=.4)
    assert isinstance(assigner.iou_calculator, BboxOverlaps2D)
    priors, gts = _boxes(30, seed=3), _boxes(3, seed=4)
    scored = torch.cat([priors, torch.rand(30, 1)], dim=1)
    r1, r2 = assigner.assign(priors, gts), assigner.assign(scored, gts)
    assert torch.equal(r1.gt_inds, r2.gt_inds) and torch.equal(r1.max_overlaps, r2.max_overlaps)


# --------------------------------------------------------------------------- AssignResult

def _check_assign_result(res, num_preds, num_gts, num_classes=3):
    assert res.num_preds == num_preds == res.gt_inds.numel() == res.max_overlaps.numel()
    assert res.num_gts == num_gts
    assert res.gt_inds.dtype == torch.int64 and res.max_overlaps.dtype == torch.float32
    assert ((res.gt_inds >= -1) & (res.gt_inds <= num_gts)).all()
    assert int((res.gt_inds != 0).sum()) <= num_gts  # at most num_gts assigned
    assert (res.max_overlaps[res.gt_inds == 0] == 0).all()
    assert ((res.max_overlaps >= 0) & (res.max_overlaps < 1)).all()
    if res.labels is not None:
        assert res.labels.shape == (num_preds,) and res.labels.dtype == torch.int64
        pos = res.gt_inds > 0
        assert (res.labels[~pos] == -1).all()
        assert ((res.labels[pos] >= 0) & (res.labels[pos] < max(num_classes, 1))).all()


@pytest.mark.parametrize('seed', range(12))
def test_assign_result_random_is_consistent(seed):
    from mmdet.core import AssignResult
    res = AssignResult.random(rng=seed)
    _check_assign_result(res, res.num_preds, res.num_gts)
    assert 0 <= res.num_preds < 16 and 0 <= res.num_gts < 8
    again = AssignResult.random(rng=seed)  # a seed reproduces the result
    assert torch.equal(again.gt_inds, res.gt_inds) and torch.equal(again.max_overlaps, res.max_overlaps)


def test_assign_result_random_options():
    from mmdet.core import AssignResult
    rng = np.random.RandomState(0)
    res = AssignResult.random(rng=rng, num_preds=40, num_gts=50, p_ignore=0., p_assigned=1.,
                              p_use_label=True, num_classes=7)
    _check_assign_result(res, 40, 50, num_classes=7)
    assert (res.gt_inds > 0).all() and res.labels is not None and res.labels.max() < 7
    res = AssignResult.random(rng=rng, num_preds=40, num_gts=5, p_ignore=1., p_assigned=1.)
    assert int((res.gt_inds == -1).sum()) == 5 and int((res.gt_inds > 0).sum()) == 0
    res = AssignResult.random(rng=rng, num_preds=9, num_gts=0, p_use_label=True)
    _check_assign_result(res, 9, 0)
    assert (res.gt_inds == 0).all()
    assert AssignResult.random(rng=rng, num_preds=5, num_gts=2, p_use_label=False).labels is None
    assert AssignResult.random(rng=rng, num_preds=0, num_gts=2).num_preds == 0
    with pytest.raises(TypeError, match='num_pred'):
        AssignResult.random(num_pred=3)


def test_assign_result_interface():
    from mmdet.core import AssignResult
    res = AssignResult(9, torch.LongTensor([-1, 1, 2, 0]), torch.FloatTensor([0, .5, .9, 0]),
                       torch.LongTensor([-1, 3, 4, -1]))
    assert res.num_preds == 4
    assert str(res) == '<AssignResult(num_gts=9, gt_inds.shape=(4,), max_overlaps.shape=(4,), labels.shape=(4,))>'
    assert repr(res).startswith('<AssignResult(num_gts=9') and ' at 0x' in repr(res)
    assert set(res.info) == {'num_gts', 'num_preds', 'gt_inds', 'max_overlaps', 'labels'}
    assert res.pos_mask.tolist() == [False, True, True, False] and res.neg_mask.tolist() == [False] * 3 + [True]
    res.set_extra_property('centerness', torch.ones(4))
    assert torch.equal(res.get_extra_property('centerness'), torch.ones(4))
    assert 'centerness' in res.info and res.get_extra_property('nothing') is None
    with pytest.raises(KeyError):
        res.set_extra_property('labels', None)
    no_labels = AssignResult(2, torch.LongTensor([0, 1]), torch.FloatTensor([0, .7]))
    assert 'labels=None' in str(no_labels)

    gt_labels = torch.arange(9)
    res.add_gt_(gt_labels)
    assert res.num_preds == 13
    assert res.gt_inds[:9].tolist() == list(range(1, 10)) and res.gt_inds[9:].tolist() == [-1, 1, 2, 0]
    assert (res.max_overlaps[:9] == 1).all() and res.labels[:9].tolist() == list(range(9))
    with pytest.raises(ValueError, match='one label per gt'):
        res.add_gt_(torch.arange(3))


# --------------------------------------------------------------------------- samplers

def _assignment():
    from mmdet.core import MaxIoUAssigner
    gts = torch.tensor([[0., 0., 20., 20.], [30., 30., 60., 70.], [5., 40., 25., 60.]])
    gt_labels = torch.tensor([2, 0, 5])
    priors = torch.cat([gts + 1, gts - 1, _boxes(60, scale=70, seed=5)])
    ignore = torch.tensor([[100., 100., 120., 120.]])
    priors = torch.cat([priors, ignore + 1])
    assigner = MaxIoUAssigner(pos_iou_thr=.5, neg_iou_thr=.3, ignore_iof_thr=.5)
    res = assigner.assign(priors, gts, gt_bboxes_ignore=ignore, gt_labels=gt_labels)
    return priors, gts, gt_labels, res


def test_pseudo_sampler_keeps_all_assigned():
    from mmdet.core import PseudoSampler, SamplingResult
    priors, gts, gt_labels, res = _assignment()
    assert (res.gt_inds == -1).any() and (res.gt_inds > 0).any() and (res.gt_inds == 0).any()
    sr = PseudoSampler().sample(res, priors, gts)
    assert isinstance(sr, SamplingResult)
    assert torch.equal(sr.pos_inds, torch.nonzero(res.gt_inds > 0).view(-1))
    assert torch.equal(sr.neg_inds, torch.nonzero(res.gt_inds == 0).view(-1))
    assert torch.equal(sr.pos_bboxes, priors[sr.pos_inds]) and torch.equal(sr.neg_bboxes, priors[sr.neg_inds])
    assert torch.equal(sr.pos_assigned_gt_inds, res.gt_inds[sr.pos_inds] - 1)
    assert torch.equal(sr.pos_gt_bboxes, gts[sr.pos_assigned_gt_inds])
    assert torch.equal(sr.pos_gt_labels, gt_labels[sr.pos_assigned_gt_inds])
    assert sr.num_gts == 3 and sr.pos_is_gt.dtype == torch.uint8 and not sr.pos_is_gt.any()
    assert torch.equal(sr.bboxes, torch.cat([sr.pos_bboxes, sr.neg_bboxes]))
    assert set(sr.info) == {'pos_inds', 'neg_inds', 'pos_bboxes', 'neg_bboxes', 'pos_is_gt', 'num_gts',
                            'pos_assigned_gt_inds'}
    assert sr.to('cpu') is sr and str(sr).startswith('<SamplingResult({')
    with pytest.raises(ValueError, match='predictions'):
        PseudoSampler().sample(res, priors[:-1], gts)


def test_pseudo_sampler_without_gts():
    from mmdet.core import MaxIoUAssigner, PseudoSampler
    priors = _boxes(10)
    res = MaxIoUAssigner(.5, .4).assign(priors, torch.zeros(0, 4), gt_labels=torch.zeros(0, dtype=torch.long))
    sr = PseudoSampler().sample(res, priors, torch.zeros(0, 4))
    assert sr.pos_inds.numel() == 0 and sr.neg_inds.numel() == 10
    assert sr.pos_gt_bboxes.shape == (0, 4) and sr.pos_gt_labels.numel() == 0 and sr.num_gts == 0


def test_random_sampler_counts_and_bounds():
    from mmdet.core import AssignResult, RandomSampler
    torch.manual_seed(0)
    gt_inds = torch.zeros(200, dtype=torch.long)
    gt_inds[:30] = torch.arange(30) % 4 + 1
    gt_inds[30:40] = -1
    res = AssignResult(4, gt_inds, torch.rand(200), None)
    bboxes, gts = _boxes(200), _boxes(4, seed=9)

    sr = RandomSampler(num=32, pos_fraction=.25, add_gt_as_proposals=False).sample(res, bboxes, gts)
    assert sr.pos_inds.numel() == 8 and sr.neg_inds.numel() == 24  # plenty of both
    assert (gt_inds[sr.pos_inds] > 0).all() and (gt_inds[sr.neg_inds] == 0).all()
    assert sr.pos_inds.unique().numel() == 8 and sr.neg_inds.unique().numel() == 24
    assert torch.equal(sr.pos_gt_bboxes, gts[gt_inds[sr.pos_inds] - 1]) and sr.pos_gt_labels is None

    sr = RandomSampler(num=256, pos_fraction=.5, add_gt_as_proposals=False).sample(res, bboxes, gts)
    assert sr.pos_inds.numel() == 30 and sr.neg_inds.numel() == 160  # all of them, no ignored ones

    sr = RandomSampler(num=100, pos_fraction=.5, neg_pos_ub=2, add_gt_as_proposals=False).sample(res, bboxes, gts)
    assert sr.pos_inds.numel() == 30 and sr.neg_inds.numel() == 60

    res_neg = AssignResult(0, torch.zeros(50, dtype=torch.long), torch.zeros(50), None)
    sr = RandomSampler(num=64, pos_fraction=.5, neg_pos_ub=3).sample(res_neg, bboxes[:50], torch.zeros(0, 4))
    assert sr.pos_inds.numel() == 0 and sr.neg_inds.numel() == 3  # the bound counts max(1, #pos)


def test_random_sampler_adds_gts_as_proposals():
    from mmdet.core import RandomSampler
    torch.manual_seed(0)
    priors, gts, gt_labels, res = _assignment()
    gt_inds_before = res.gt_inds.clone()
    with pytest.raises(ValueError, match='gt_labels'):
        RandomSampler(num=16, pos_fraction=.5).sample(res, priors, gts)
    sr = RandomSampler(num=512, pos_fraction=.5).sample(res, priors, gts, gt_labels)
    assert res.num_preds == priors.shape[0] + 3  # the gts were prepended to the assignment
    assert torch.equal(res.gt_inds[3:], gt_inds_before) and res.gt_inds[:3].tolist() == [1, 2, 3]
    assert sr.pos_inds[:3].tolist() == [0, 1, 2] and sr.pos_is_gt.tolist()[:3] == [1, 1, 1]
    assert not sr.pos_is_gt[3:].any()
    assert torch.equal(sr.pos_bboxes[:3], gts) and torch.equal(sr.pos_gt_bboxes[:3], gts)
    assert torch.equal(sr.pos_gt_labels[:3], gt_labels)
    all_boxes = torch.cat([gts, priors[:, :4]])
    assert torch.equal(sr.pos_bboxes, all_boxes[sr.pos_inds]) and torch.equal(sr.neg_bboxes, all_boxes[sr.neg_inds])
    assert torch.equal(sr.pos_gt_bboxes, gts[sr.pos_assigned_gt_inds])
    assert int((gt_inds_before > 0).sum()) + 3 == sr.pos_inds.numel()


def test_random_choice_and_random_sampling_result():
    from mmdet.core import RandomSampler, SamplingResult
    sampler = RandomSampler(num=4, pos_fraction=.5)
    picked = sampler.random_choice([3, 5, 7, 9], 2)
    assert isinstance(picked, np.ndarray) and len(set(picked.tolist())) == 2 and set(picked) <= {3, 5, 7, 9}
    picked = sampler.random_choice(torch.arange(10), 10)
    assert torch.equal(picked.sort().values, torch.arange(10))
    with pytest.raises(ValueError):
        sampler.random_choice(torch.arange(3), 4)
    for seed in range(5):
        sr = SamplingResult.random(rng=seed)
        assert sr.pos_inds.numel() <= 16 and sr.pos_inds.numel() + sr.neg_inds.numel() <= 32
        assert sr.pos_bboxes.shape == (sr.pos_inds.numel(), 4)


# --------------------------------------------------------------------------- ResLayer

def test_res_layer_shapes_and_keys():
    from mmdet.models.backbones.resnet import BasicBlock, Bottleneck
    from mmdet.models.utils import ResLayer
    layer = ResLayer(Bottleneck, 64, 64, 3, stride=2)
    assert isinstance(layer, nn.Sequential) and len(layer) == 3 and layer.block is Bottleneck
    keys = layer.state_dict().keys()
    assert {'0.conv1.weight', '0.bn1.weight', '0.conv3.weight', '0.bn3.running_var', '0.downsample.0.weight',
            '0.downsample.1.weight', '0.downsample.1.running_mean', '2.conv2.weight'} <= set(keys)
    assert not any(k.startswith(('1.downsample', '2.downsample')) for k in keys)
    assert layer.state_dict()['0.downsample.0.weight'].shape == (256, 64, 1, 1)
    assert layer(torch.randn(2, 64, 15, 16)).shape == (2, 256, 8, 8)

    avg = ResLayer(Bottleneck, 256, 128, 2, stride=2, avg_down=True)
    assert isinstance(avg[0].downsample[0], nn.AvgPool2d)
    assert avg.state_dict()['0.downsample.1.weight'].shape == (512, 256, 1, 1)
    assert avg(torch.randn(1, 256, 9, 9)).shape == (1, 512, 5, 5)
    # as 2.x: avg_down pools the shortcut even at stride 1 (a no-op AvgPool2d(1))
    assert isinstance(ResLayer(Bottleneck, 64, 64, 1, avg_down=True)[0].downsample[0], nn.AvgPool2d)

    basic = ResLayer(BasicBlock, 64, 64, 2)
    assert basic[0].downsample is None and basic(torch.randn(1, 64, 8, 8)).shape == (1, 64, 8, 8)
    dilated = ResLayer(Bottleneck, 64, 32, 2, dilation=2, style='caffe')
    assert dilated[1].conv2.dilation == (2, 2) and dilated[0].conv1.stride == (1, 1)
    assert dilated(torch.randn(1, 64, 8, 8)).shape == (1, 128, 8, 8)

    hourglass = ResLayer(BasicBlock, 32, 64, 3, stride=2, downsample_first=False)
    assert [b.downsample is None for b in hourglass] == [True, True, False]
    assert hourglass(torch.randn(1, 32, 8, 8)).shape == (1, 64, 4, 4)
    gn = ResLayer(BasicBlock, 32, 64, 1, stride=2, norm_cfg=dict(type='GN', num_groups=8))
    assert '0.gn1.weight' in gn.state_dict() and isinstance(gn[0].downsample[1], nn.GroupNorm)
    with pytest.raises(ValueError):
        ResLayer(BasicBlock, 32, 64, 0)
    with pytest.raises(TypeError, match='expansion'):
        ResLayer(nn.Conv2d, 32, 64, 1)


def test_resnet_stages_are_res_layers_with_unchanged_keys():
    from mmdet.models.backbones import ResNet, ResNetV1d
    from mmdet.models.utils import ResLayer
    r18 = ResNet(depth=18, num_stages=2, out_indices=(0, 1))
    assert all(isinstance(getattr(r18, n), ResLayer) for n in r18.res_layers)
    assert '1.downsample.0.weight' not in r18.layer1.state_dict() and '0.downsample.0.weight' in \
        r18.layer2.state_dict()
    v1d = ResNetV1d(depth=50, num_stages=2, out_indices=(0, 1))
    # this toolbox's ResNet pools the shortcut only in strided stages: layer1's conv stays at downsample.0
    assert v1d.layer1.state_dict()['0.downsample.0.weight'].shape == (256, 64, 1, 1)
    assert v1d.layer2.state_dict()['0.downsample.1.weight'].shape == (512, 256, 1, 1)


# --------------------------------------------------------------------------- helpers

def test_multi_apply_and_unmap_as_2x():
    from mmdet.core import multi_apply, unmap
    from mmdet.models.utils import multi_apply as ma2, unmap as um2

    def f(x, y, scale=1):
        return x + y, x * scale, [x]
    out = multi_apply(f, [1, 2, 3], (10, 20, 30), scale=2)
    assert out == ([11, 22, 33], [2, 4, 6], [[1], [2], [3]]) and isinstance(out, tuple)
    assert multi_apply(f, [], []) == ()
    assert ma2 is multi_apply and um2 is unmap

    mask = torch.tensor([1, 0, 1, 1, 0], dtype=torch.uint8)
    assert unmap(torch.tensor([5., 6., 7.]), 5, mask).tolist() == [5., 0., 6., 7., 0.]
    assert unmap(torch.tensor([5, 6, 7]), 5, mask.bool(), fill=-1).tolist() == [5, -1, 6, 7, -1]
    two = unmap(torch.ones(3, 4), 5, mask, fill=2)
    assert two.shape == (5, 4) and (two[[1, 4]] == 2).all() and (two[[0, 2, 3]] == 1).all()
    with pytest.raises(ValueError, match='mask'):
        unmap(torch.ones(3), 4, mask)


def test_images_to_levels_reduce_mean_tensor2imgs():
    from mmdet.core import images_to_levels, reduce_mean
    from mmdet.core.utils import tensor2imgs
    from mmdet.models.utils import images_to_levels as itl2
    assert itl2 is images_to_levels
    per_img = [torch.arange(6), torch.arange(6) + 10]
    levels = images_to_levels(per_img, [4, 2])
    assert [tuple(lv.shape) for lv in levels] == [(2, 4), (2, 2)] and levels[1].tolist() == [[4, 5], [14, 15]]
    t = torch.tensor([1.5, 2.])
    assert torch.equal(reduce_mean(t), t)

    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    bgr = np.random.RandomState(0).randint(0, 256, size=(2, 5, 6, 3)).astype(np.float32)
    rgb = bgr[..., ::-1]
    norm = torch.from_numpy(((rgb - np.array(mean)) / np.array(std)).astype(np.float32)).permute(0, 3, 1, 2)
    imgs = tensor2imgs(norm, mean, std, to_rgb=True)
    assert len(imgs) == 2 and imgs[0].shape == (5, 6, 3) and imgs[0].dtype == np.uint8
    assert np.array_equal(np.stack(imgs), bgr.astype(np.uint8))
    with pytest.raises(ValueError):
        tensor2imgs(norm[0], mean, std)


def test_gaussian_target_helpers():
    from mmdet.models.utils import gaussian_radius, gen_gaussian_target
    from mmdet.models.utils.gaussian_target import gaussian2D
    k = gaussian2D(2, sigma=5 / 6)
    assert k.shape == (5, 5) and k[2, 2] == 1 and torch.equal(k, k.t()) and torch.equal(k, k.flip(0))

    heat = torch.zeros(6, 8)
    out = gen_gaussian_target(heat, [1, 4], 2)
    assert out is heat and heat[4, 1] == 1 and heat.argmax() == 4 * 8 + 1
    assert (heat[:2] == 0).all() and (heat[:, 4:] == 0).all()  # clipped to the radius
    assert torch.allclose(heat[4, 0], heat[4, 2]) and torch.allclose(heat[3, 1], heat[5, 1])
    gen_gaussian_target(heat, [2, 4], 1, k=0.5)  # keeps the element-wise max
    assert heat[4, 1] == 1 and heat[4, 2] == max(0.5, float(k[2, 3]))
    with pytest.raises(ValueError):
        gen_gaussian_target(heat, [8, 0], 1)

    # the 2.x / CornerNet-Lite radius, pinned, and what it guarantees
    assert gaussian_radius((10, 20), 0.7) == pytest.approx(1.0773837106674353, rel=1e-12)
    assert gaussian_radius((37.5, 80.25), 0.3) == pytest.approx(11.00042373368272, rel=1e-12)
    for (h, w), iou in (((10, 20), .7), ((50, 30), .5), ((8, 100), .9)):
        r = gaussian_radius((h, w), iou)
        assert (w - 2 * r) * (h - 2 * r) / (w * h) >= iou - 1e-9  # both corners inside
        assert w * h / ((w + 2 * r) * (h + 2 * r)) >= iou - 1e-9  # both corners outside
    with pytest.raises(ValueError):
        gaussian_radius((10, 10), 0)
