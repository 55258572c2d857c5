import math

import pytest
import torch

from mmdet.models.losses import FocalLoss, GIoULoss, IoULoss, VarifocalLoss, varifocal_loss

LN2 = math.log(2)


def test_vfl_hand_computed():
    pred = torch.zeros(1, 2)  # p = 0.5 everywhere
    target = torch.tensor([[0.8, 0.0]])  # a positive with IoU 0.8, a negative
    loss = varifocal_loss(pred, target, alpha=0.75, gamma=2.0, iou_weighted=True, reduction='none')
    # positive: BCE(0.5, q=0.8) = ln 2, weighted by q; negative: ln 2 * alpha * p^gamma
    assert loss[0, 0].item() == pytest.approx(0.8 * LN2, rel=1e-6)
    assert loss[0, 1].item() == pytest.approx(0.75 * 0.25 * LN2, rel=1e-6)
    unweighted = varifocal_loss(pred, target, iou_weighted=False, reduction='none')
    assert unweighted[0, 0].item() == pytest.approx(LN2, rel=1e-6)
    assert unweighted[0, 1].item() == pytest.approx(loss[0, 1].item())


def test_vfl_module_reduction_and_avg_factor():
    torch.manual_seed(0)
    pred, target = torch.randn(5, 3), torch.zeros(5, 3)
    target[1, 2], target[3, 0] = 0.6, 0.9
    m = VarifocalLoss(loss_weight=2.0)
    elem = varifocal_loss(pred, target, reduction='none')
    assert m(pred, target).item() == pytest.approx(2 * elem.mean().item(), rel=1e-6)
    assert m(pred, target, avg_factor=4.0).item() == pytest.approx(2 * elem.sum().item() / 4, rel=1e-6)
    # a confident correct negative costs (almost) nothing; a confident wrong one a lot
    easy = varifocal_loss(torch.tensor([[-8.0]]), torch.tensor([[0.0]]), reduction='sum')
    hard = varifocal_loss(torch.tensor([[8.0]]), torch.tensor([[0.0]]), reduction='sum')
    assert easy.item() < 1e-6 < 1 < hard.item()
    with pytest.raises(ValueError):
        VarifocalLoss(use_sigmoid=False)


def test_focal_loss_matches_formula():
    pred = torch.tensor([[0.0, 2.0]])
    label = torch.tensor([1])  # class 1 positive, class 0 negative
    loss = FocalLoss(gamma=2.0, alpha=0.25, reduction='none')(pred, label)
    p1 = torch.sigmoid(torch.tensor(2.0)).item()
    expected_pos = 0.25 * (1 - p1) ** 2 * -math.log(p1)
    expected_neg = 0.75 * 0.5 ** 2 * LN2
    assert loss[0, 1].item() == pytest.approx(expected_pos, rel=1e-5)
    assert loss[0, 0].item() == pytest.approx(expected_neg, rel=1e-5)


def test_giou_and_iou_losses():
    a = torch.tensor([[0., 0., 10., 10.]])
    b = torch.tensor([[5., 0., 15., 10.]])
    # IoU = 50/150; enclosing = 150 = union -> GIoU = IoU
    assert GIoULoss()(a, b).item() == pytest.approx(1 - 1 / 3, rel=1e-5)
    c = torch.tensor([[20., 0., 30., 10.]])  # disjoint: IoU 0, enclose 300, union 200
    assert GIoULoss()(a, c).item() == pytest.approx(1 + 100 / 300, rel=1e-5)
    assert IoULoss(linear=True)(a, b).item() == pytest.approx(2 / 3, rel=1e-5)
    # all-zero weights: zero loss that still reaches the prediction
    p = a.clone().requires_grad_()
    z = GIoULoss()(p, b, weight=torch.zeros(1))
    z.backward()
    assert z.item() == 0 and p.grad is not None
