"""mmcv 1.x's paramwise rules, by parameter: bias / norm / depth-wise / deformable-offset multipliers,
``dcn_offset_lr_mult``, ``bypass_duplicate``, the mmcv ``add_params`` signature, and mixed precision
turned on by ``optimizer_config.type='Fp16OptimizerHook'``."""
import pytest
import torch
from torch import nn

from mmdet.apis.train import _amp_state
from mmdet.ops.deform_conv import ModulatedDeformConv2dPack
from mmdet.runner.optimizer import DefaultOptimizerConstructor, param_groups
from mmdet.utils import Config


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.dw = nn.Conv2d(4, 4, 3, groups=4)
        self.dcn = ModulatedDeformConv2dPack(4, 4, 3, padding=1, bias=True)


def by_name(model, groups):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: (g['lr'], g.get('weight_decay')) for g in groups}


def test_paramwise_rules_follow_mmcv():
    net = Net()
    cfg = dict(bias_lr_mult=2., bias_decay_mult=0., norm_decay_mult=0.5, dwconv_decay_mult=0.1,
               dcn_offset_lr_mult=0.1)
    got = by_name(net, param_groups(net, 1.0, 1e-4, cfg))
    assert got == {
        'conv.weight': (1.0, 1e-4), 'conv.bias': (2.0, 0.0),
        'bn.weight': (1.0, 0.5e-4), 'bn.bias': (1.0, 0.5e-4),  # norm: no bias lr, norm decay
        'dw.weight': (1.0, 1e-5), 'dw.bias': (2.0, 1e-5),  # depth-wise decay before the bias rule
        'dcn.weight': (1.0, 1e-4), 'dcn.bias': (2.0, 0.0),  # the deformable conv's own bias: a bias
        # its conv_offset (inside the DCN): no bias rules, the offset lr for weight and bias
        'dcn.conv_offset.weight': pytest.approx((0.1, 1e-4)), 'dcn.conv_offset.bias': pytest.approx((0.1, 1e-4))}
    # the VFNet configs' paramwise_cfg on an mdconv backbone: the offset bias keeps lr and decay, as mmcv
    vfnet = by_name(net, param_groups(net, 0.01, 1e-4, dict(bias_lr_mult=2., bias_decay_mult=0.)))
    assert vfnet['dcn.conv_offset.bias'] == (0.01, 1e-4) and vfnet['conv.bias'] == (0.02, 0.0)


def test_custom_keys_win_and_decay_needs_weight_decay():
    net = Net()
    got = by_name(net, param_groups(net, 1.0, 1e-4, dict(bias_lr_mult=2., custom_keys={
        'conv': dict(lr_mult=0.5), 'conv_offset': dict(lr_mult=0.0, decay_mult=0.0)})))
    assert got['conv.bias'] == (0.5, 1e-4) and got['dcn.conv_offset.weight'] == (0.0, 0.0)
    with pytest.raises(ValueError, match='needs weight_decay'):
        param_groups(net, 1.0, None, dict(norm_decay_mult=0.))
    with pytest.raises(KeyError, match='unknown keys'):
        param_groups(net, 1.0, 1e-4, dict(bias_lr_mul=2.))


def test_bypass_duplicate_skips_shared_parameters():
    net = nn.Module()
    net.a = nn.Linear(2, 2)
    net.b = nn.Linear(2, 2)
    net.b.weight = net.a.weight  # shared between two modules
    with pytest.warns(UserWarning, match='b.weight is duplicate'):
        groups = param_groups(net, 1.0, None, dict(bypass_duplicate=True))
    assert len(groups) == 3
    torch.optim.SGD(groups, lr=1.0)
    with pytest.raises(ValueError, match='more than one parameter group'):
        torch.optim.SGD(param_groups(net, 1.0, None, dict(bias_lr_mult=1.)), lr=1.0)


def test_mmcv_style_add_params_override():
    """A constructor written for mmcv: ``add_params(self, params, module, prefix='', is_dcn_module=None)``
    calling super with keywords."""
    class Frozen(DefaultOptimizerConstructor):
        def add_params(self, params, module, prefix='', is_dcn_module=None):
            super().add_params(params, module, prefix=prefix, is_dcn_module=is_dcn_module)
            for g in params:
                g['lr'] = 0.0 if g['params'][0] is module.conv.weight else g['lr']

    opt = Frozen(dict(type='SGD', lr=0.1, weight_decay=1e-4), dict(bias_lr_mult=2.))(Net())
    lrs = sorted({g['lr'] for g in opt.param_groups})
    assert lrs == [0.0, 0.1, 0.2]


def test_fp16_optimizer_hook_turns_on_mixed_precision():
    assert _amp_state(Config(dict(optimizer_config=dict(grad_clip=None))), 'cpu') is None
    amp = _amp_state(Config(dict(optimizer_config=dict(type='Fp16OptimizerHook', loss_scale=256.))), 'cpu')
    assert amp is not None
    assert _amp_state(Config(dict(optimizer_config=dict(type='GradientCumulativeFp16OptimizerHook',
                                                        cumulative_iters=2))), 'cpu') is not None
    assert _amp_state(Config(dict(fp16=dict(loss_scale=512.), optimizer_config={})), 'cpu') is not None


def test_detect_anomalous_params_names_the_parameters_the_loss_does_not_use():
    import logging
    from types import SimpleNamespace

    from mmdet.runner.hooks import HOOKS
    from mmdet.utils import build_from_cfg

    class Records(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append((record.levelname, record.getMessage()))

    model = nn.Module()
    model.used, model.unused, model.frozen = nn.Linear(2, 1), nn.Linear(2, 1), nn.Linear(2, 1)
    model.frozen.requires_grad_(False)
    logger, handler = logging.getLogger('anomalous'), Records()
    logger.addHandler(handler)
    loss = model.used(torch.ones(1, 2)).sum() + 0 * model.frozen(torch.ones(1, 2)).sum()
    runner = SimpleNamespace(module=model, model=model, logger=logger, amp=None, optimizer=torch.optim.SGD(
        model.parameters(), lr=0.1), outputs=dict(loss=loss, log_vars=dict(loss=float(loss)), num_samples=1),
        epoch=0, iter=0, inner_iter=0)
    hook = build_from_cfg(dict(type='OptimizerHook', grad_clip=None, detect_anomalous_params=True), HOOKS)
    hook.after_train_iter(runner)
    assert handler.messages == [('ERROR', 'unused.weight with shape (1, 2) is not in the computational graph'),
                                ('ERROR', 'unused.bias with shape (1,) is not in the computational graph')]
    assert model.used.weight.grad is not None
