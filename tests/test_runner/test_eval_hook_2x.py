"""EvalHook / DistEvalHook: 2.28's dynamic_intervals, mmcv 1.x's greater_keys / less_keys / out_dir /
file_client_args / test_fn (the hook's own, never passed to ``dataset.evaluate``), and the evaluation keys
checked against ``dataset.evaluate`` when the hook is built."""
import inspect
import logging

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from mmdet.core.evaluation import DistEvalHook, EvalHook
from mmdet.core.evaluation import eval_hooks
from mmdet.core.evaluation.eval_hooks import EVAL_HOOK_KEYS, infer_rule
from mmdet.datasets import CocoDataset
from mmdet.datasets.dataset_wrappers import ConcatDataset
from mmdet.parallel import MMDataParallel, collate
from mmdet.runner import EpochBasedRunner, IterBasedRunner, OptimizerHook
from mmdet.runner.hooks import Hook
from tests.test_runner.test_2x_contract import Toy


class Strict(Toy):
    """test_2x_contract's four samples; ``evaluate`` has a fixed signature (no ``**kwargs``, as CocoDataset's)
    and records every call's keywords; scores are scripted per call."""
    CLASSES = None

    def evaluate(self, results, metric='bbox', logger=None, classwise=False):
        self.calls.append(dict(n=len(results), metric=metric, classwise=classwise))
        return {'bbox_mAP': self.scores.pop(0) if self.scores else 0.0}


class Loose(Strict):
    def evaluate(self, results, logger=None, **kwargs):
        self.calls.append(dict(n=len(results), **kwargs))
        return {'bbox_mAP': 0.0}


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, img, img_metas, return_loss=True, rescale=False):
        if return_loss:
            return dict(loss_toy=(self.w * img).mean())
        return [[] for _ in img_metas]

    def train_step(self, data, optimizer):
        loss = self(**data)['loss_toy']
        return dict(loss=loss, log_vars=dict(loss=float(loss.detach())), num_samples=len(data['img_metas']))


def loader(dataset):
    return DataLoader(dataset, batch_size=2, collate_fn=lambda b: collate(b, samples_per_gpu=len(b)))


def runner_for(work_dir, cls=EpochBasedRunner, **kw):
    model = Detector()
    runner = cls(MMDataParallel(model), torch.optim.SGD(model.parameters(), lr=0.01), work_dir=str(work_dir),
                 logger=logging.getLogger('test_eval_hook_2x'), **kw)
    runner.register_hook(OptimizerHook())
    return runner


class Evaluated(Hook):
    """The 1-based epochs (iterations) after which the dataset's evaluate was called."""

    def __init__(self, dataset, by_epoch=True):
        self.dataset, self.by_epoch, self.at = dataset, by_epoch, []

    def _check(self, runner):
        if len(self.dataset.calls) > len(self.at):
            self.at.append((runner.epoch if self.by_epoch else runner.iter) + 1)

    def after_train_epoch(self, runner):
        if self.by_epoch:
            self._check(runner)

    def after_train_iter(self, runner):
        if not self.by_epoch:
            self._check(runner)


def train(tmp_path, hook, dataset, epochs=None, iters=None):
    by_epoch = iters is None
    runner = runner_for(tmp_path, **(dict(max_epochs=epochs) if by_epoch else dict(cls=IterBasedRunner,
                                                                                      max_iters=iters)))
    runner.register_hook(hook)
    seen = Evaluated(dataset, by_epoch)
    runner.register_hook(seen, priority='LOWEST')
    runner.run([loader(Strict())], [('train', 1)])
    return seen.at, runner


# ----------------------------------------------------------------- dynamic_intervals (2.28, YOLOX)
@pytest.mark.parametrize('interval, dynamic, epochs, expected', [
    (3, [(5, 1)], 8, [3, 5, 6, 7, 8]),  # YOLOX in small: every 3rd epoch, then every epoch from epoch 5
    (4, [(3, 2), (7, 1)], 9, [4, 6, 7, 8, 9]),
    (2, [[4, 3]], 10, [2, 6, 9]),  # lists (a config read back from json) as tuples
    (1, [(1, 2)], 5, [2, 4]),
])
def test_dynamic_intervals_by_epoch(tmp_path, interval, dynamic, epochs, expected):
    ds = Strict()
    at, _ = train(tmp_path, EvalHook(loader(ds), interval=interval, dynamic_intervals=dynamic, metric='bbox'),
                  ds, epochs=epochs)
    assert at == expected
    # dynamic_intervals is the hook's: dataset.evaluate (no **kwargs) never sees it
    assert ds.calls == [dict(n=4, metric='bbox', classwise=False)] * len(expected)


def test_dynamic_intervals_by_iteration(tmp_path):
    ds = Strict()
    hook = EvalHook(loader(ds), interval=3, by_epoch=False, dynamic_intervals=[(6, 1)])
    at, _ = train(tmp_path, hook, ds, iters=8)
    assert at == [3, 6, 7, 8] and hook.interval == 1


def test_dynamic_intervals_with_start_and_dist_hook(tmp_path):
    ds = Strict()
    # start=2: epochs 2, 4 (interval 2), then from epoch 5 every epoch
    at, _ = train(tmp_path, DistEvalHook(loader(ds), start=2, interval=2, dynamic_intervals=[(5, 1)]), ds, epochs=7)
    assert at == [2, 4, 5, 6, 7]


def test_decide_interval_is_2_28s():
    # 2.28: the interval before epoch (iteration) index p is that of the last milestone <= p + 1
    hook = EvalHook(loader(Strict()), interval=10, dynamic_intervals=[(285, 1)])
    assert hook.dynamic_milestones == [0, 285] and hook.dynamic_intervals == [10, 1]
    for epoch, expected in ((0, 10), (283, 10), (284, 1), (299, 1)):
        runner = type('R', (), dict(epoch=epoch, iter=0))()
        hook._decide_interval(runner)
        assert hook.interval == expected, epoch


@pytest.mark.parametrize('bad', [[(5,)], [(5, 0)], [(7, 1), (5, 2)], [(5, 1), (5, 2)], 'x', [(5.0, 1)],
                                 [(-1, 1)], (5, 1)])
def test_bad_dynamic_intervals_fail_at_construction(bad):
    with pytest.raises(AssertionError, match='dynamic_intervals'):  # InvalidArgumentError, as 2.28's assert
        EvalHook(loader(Strict()), dynamic_intervals=bad)


# ----------------------------------------------------------------- greater_keys / less_keys
def test_rule_inference_as_mmcv():
    d = EvalHook(loader(Strict()), save_best='bbox_mAP')
    assert d.rule == 'greater'
    # mmcv's defaults, case-insensitive
    for key in ('acc', 'top1', 'AR@100', 'auc', 'precision', 'mDice', 'mIoU', 'BBOX_MAP', 'aAcc'):
        assert EvalHook(loader(Strict()), save_best=key).rule == 'greater', key
    # and what our datasets return that mmcv cannot infer: LVIS bbox_AP*, COCO proposals, VOC recall
    for key in ('bbox_AP', 'bbox_APr', 'AR_s@1000', 'recall@100@0.5'):
        assert EvalHook(loader(Strict()), save_best=key).rule == 'greater', key
    assert EvalHook(loader(Strict()), save_best='val_loss').rule == 'less'
    # mmcv's order: an exact greater/less key first, then a greater fragment, then a less fragment
    assert infer_rule('loss', ['loss'], ['loss']) == 'greater'
    assert infer_rule('loss', ['acc'], ['LOSS']) == 'less'
    assert infer_rule('acc_loss', ['acc'], ['loss']) == 'greater'
    assert infer_rule('f1_score', ['acc'], ['loss']) is None


def test_greater_and_less_keys_replace_the_defaults_and_never_reach_evaluate(tmp_path):
    with pytest.raises(ValueError, match="cannot infer the rule for save_best='f1_score'"):
        EvalHook(loader(Strict()), save_best='f1_score')
    assert EvalHook(loader(Strict()), save_best='f1_score', greater_keys=['f1']).rule == 'greater'
    assert EvalHook(loader(Strict()), save_best='f1_score', greater_keys='F1').rule == 'greater'  # a str
    assert EvalHook(loader(Strict()), save_best='val_err', less_keys=('err',)).rule == 'less'
    assert EvalHook(loader(Strict()), greater_keys=['f1']).greater_keys == ('f1',)
    with pytest.raises(ValueError, match=r"cannot infer.*\['f1'\]"):  # the defaults are replaced: no mAP
        EvalHook(loader(Strict()), save_best='bbox_mAP', greater_keys=['f1'])
    with pytest.raises(AssertionError, match='greater_keys'):
        EvalHook(loader(Strict()), greater_keys=[1])
    with pytest.raises(AssertionError, match='less_keys'):
        EvalHook(loader(Strict()), less_keys=3)
    # the class defaults stay (EarlyStoppingHook reads them)
    assert 'mAP' in EvalHook.greater_keys and EvalHook.less_keys == ('loss',)

    ds = Strict(scores=[0.1, 0.3])
    hook = EvalHook(loader(ds), save_best='bbox_mAP', greater_keys=['mAP'], less_keys=['loss'], metric='bbox')
    train(tmp_path, hook, ds, epochs=2)
    assert ds.calls == [dict(n=4, metric='bbox', classwise=False)] * 2 and hook.best_score == 0.3


def test_auto_key_uses_the_given_keys():
    hook = EvalHook(loader(Strict()), save_best='auto', less_keys=['mAP'], greater_keys=['none'])
    assert hook._resolve_key({'bbox_mAP': 0.1}) == 'bbox_mAP' and hook.rule == 'less'


# ----------------------------------------------------------------- out_dir / file_client_args
def test_out_dir_takes_the_best_checkpoint(tmp_path):
    work, out = tmp_path / 'work' / 'exp1', tmp_path / 'out'
    ds = Strict(scores=[0.2, 0.5])
    hook = EvalHook(loader(ds), save_best='bbox_mAP', out_dir=str(out), file_client_args=dict(backend='disk'))
    _, runner = train(work, hook, ds, epochs=2)
    best = out / 'exp1' / 'best_bbox_mAP.pth'  # mmcv: out_dir/<basename of work_dir>
    assert best.is_file() and not (work / 'best_bbox_mAP.pth').exists()
    assert hook.best_ckpt == str(best) == runner.meta['hook_msgs']['best_ckpt']
    assert torch.load(best, weights_only=False)['hook_states']['EvalHook']['best_score'] == 0.5
    assert ds.calls == [dict(n=4, metric='bbox', classwise=False)] * 2
    # no out_dir, or the work dir itself: the work dir
    same = EvalHook(loader(Strict()), save_best='bbox_mAP', out_dir=str(work))
    assert same.best_out_dir(runner) == str(work)
    assert EvalHook(loader(Strict()), save_best='bbox_mAP').best_out_dir(runner) == str(work)
    trailing = EvalHook(loader(Strict()), out_dir=str(out))
    runner.work_dir = str(work) + '/'
    assert trailing.best_out_dir(runner) == str(out / 'exp1')


@pytest.mark.parametrize('kwargs', [dict(file_client_args=dict(backend='petrel')),
                                    dict(file_client_args=dict(backend='disk'), out_dir='s3://bucket/ckpts'),
                                    dict(out_dir='s3://bucket/ckpts'),
                                    dict(file_client_args=dict(prefix='s3')),
                                    dict(file_client_args=dict(backend='disk', path_mapping={}))])
def test_non_local_file_clients_are_refused(kwargs):
    with pytest.raises(ValueError, match='local'):
        EvalHook(loader(Strict()), **kwargs)
    with pytest.raises(TypeError, match='file_client_args'):
        EvalHook(loader(Strict()), file_client_args='disk')


# ----------------------------------------------------------------- test_fn
def test_test_fn_replaces_the_test_loop(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError('the default loop ran')
    monkeypatch.setattr(eval_hooks, 'single_gpu_test', refuse)
    monkeypatch.setattr(eval_hooks, 'multi_gpu_test', refuse)
    called = []

    def test_fn(model, data_loader, **kw):
        called.append((type(model).__name__, kw))
        return [[] for _ in range(len(data_loader.dataset))]

    ds = Strict()
    at, _ = train(tmp_path, EvalHook(loader(ds), test_fn=test_fn), ds, epochs=2)
    assert at == [1, 2] and called == [('MMDataParallel', {})] * 2
    assert ds.calls == [dict(n=4, metric='bbox', classwise=False)] * 2

    # distributed: mmcv's multi-gpu signature, tmpdir defaulting to work_dir/.eval_hook
    called.clear()
    ds = Strict()
    train(tmp_path, DistEvalHook(loader(ds), test_fn=test_fn, gpu_collect=True), ds, epochs=1)
    assert called == [('MMDataParallel', dict(tmpdir=str(tmp_path / '.eval_hook'), gpu_collect=True))]
    with pytest.raises(TypeError, match='test_fn'):
        EvalHook(loader(Strict()), test_fn='mmdet.apis.single_gpu_test')


# ----------------------------------------------------------------- eval kwargs checked at construction
def test_a_key_evaluate_does_not_take_fails_at_construction():
    with pytest.raises(TypeError, match=r"'iou_thrs'.*Strict\.evaluate, which takes metric, classwise"):
        EvalHook(loader(Strict()), metric='bbox', iou_thrs=[0.5])
    # a misspelled hook key: named, with the hook key it resembles
    with pytest.raises(TypeError, match=r"key 'dynamic_interval' is.*did you mean "
                                        r"'dynamic_intervals' for 'dynamic_interval'\?"):
        EvalHook(loader(Strict()), dynamic_interval=[(5, 1)])
    with pytest.raises(TypeError, match=r"keys 'classwize', 'foo' are.*mean 'classwise' for 'classwize'\?"):
        DistEvalHook(loader(Strict()), classwize=True, foo=1)
    with pytest.raises(TypeError, match='logger'):
        EvalHook(loader(Strict()), logger=None)
    # the real COCO dataset: 2.28's YOLOX key reaching it would have been a TypeError at the first evaluation
    with pytest.raises(TypeError, match=r"'interval_dynamic'.*CocoDataset\.evaluate, which takes metric, "
                                        r"jsonfile_prefix, classwise"):
        EvalHook(loader(coco()), interval_dynamic=[(285, 1)])


def test_evaluate_with_kwargs_and_datasets_without_evaluate_accept_anything():
    assert EvalHook(loader(Loose()), anything=1).eval_kwargs == dict(anything=1)
    assert EvalHook(DataLoader([0]), metric='mAP').eval_kwargs == dict(metric='mAP')  # checked at evaluation


def test_concat_dataset_keys_are_checked_against_every_part():
    cat = ConcatDataset([Loose(), Strict()])
    assert EvalHook(loader(cat), metric='bbox', classwise=True).eval_kwargs == dict(metric='bbox', classwise=True)
    with pytest.raises(TypeError, match=r"'iou_thrs'.*ConcatDataset part 1 \(Strict\)\.evaluate"):
        EvalHook(loader(cat), iou_thrs=[0.5])


def coco():
    return CocoDataset.__new__(CocoDataset)  # its evaluate's signature is all the hook reads


def test_valid_coco_keys_are_accepted():
    kwargs = dict(metric=['bbox'], classwise=True, iou_thrs=[0.5, 0.75], proposal_nums=(1, 10, 100),
                  jsonfile_prefix='work/results', metric_items=['mAP', 'mAP_50'], backend=None)
    assert EvalHook(loader(coco()), **kwargs).eval_kwargs == kwargs
    assert DistEvalHook(loader(coco()), **kwargs).eval_kwargs == kwargs
    # 2.28's yolox_s_8x8_300e_coco.py evaluation: the hook takes all but metric
    yolox = dict(save_best='auto', interval=10, dynamic_intervals=[(300 - 15, 1)], metric='bbox')
    hook = EvalHook(loader(coco()), **yolox)
    assert hook.eval_kwargs == dict(metric='bbox') and hook.dynamic_milestones == [0, 285]
    # and mmcv's other hook arguments alongside
    hook = EvalHook(loader(coco()), metric='bbox', greater_keys=['mAP'], less_keys=['loss'], out_dir='/tmp/x',
                    file_client_args=dict(backend='disk'), test_fn=lambda m, d: [])
    assert hook.eval_kwargs == dict(metric='bbox')


def test_eval_hook_keys_are_the_hooks_arguments():
    for cls in (EvalHook, DistEvalHook):
        params = set(inspect.signature(cls).parameters) - {'dataloader', 'eval_kwargs'}
        assert params <= set(EVAL_HOOK_KEYS), (cls, params - set(EVAL_HOOK_KEYS))
    assert set(EVAL_HOOK_KEYS) == set(inspect.signature(EvalHook).parameters) - {'dataloader', 'eval_kwargs'}


# ----------------------------------------------------------------- through tools/train.py
def test_train_py_dynamic_intervals_and_a_bad_key(tmp_path, shapes_data):
    import json

    from tests.conftest import write_user_config
    from tests.test_tools.test_end_to_end import py
    extra = '''
runner = dict(_delete_=True, type='IterBasedRunner', max_iters=6)
checkpoint_config = dict(interval=6)
evaluation = dict(interval=6, metric='bbox', save_best='auto', dynamic_intervals=[(4, 2)],
                  greater_keys=['mAP'], less_keys=['loss'])
'''
    cfg = write_user_config(tmp_path / 'dyn.py', shapes_data, extra=extra)
    py('tools/train.py', cfg, '--work-dir', tmp_path / 'w')
    logs = list((tmp_path / 'w').glob('*.log.json'))
    assert len(logs) == 1
    evaluated = [r['iter'] for r in map(json.loads, logs[0].read_text().splitlines()[1:])
                 if 'bbox_mAP' in r]
    assert evaluated == [4, 6]  # every 6 iterations, from iteration 4 every 2
    assert list((tmp_path / 'w').glob('best_bbox_mAP*.pth'))

    bad = write_user_config(tmp_path / 'bad.py', shapes_data,
                            extra="evaluation = dict(metric='bbox', classwize=True)\n")
    out = py('tools/train.py', bad, '--work-dir', tmp_path / 'b', check=False)
    assert out.returncode != 0
    assert "'classwize'" in out.stderr and 'Dataset.evaluate, which takes' in out.stderr
    assert "did you mean 'classwise' for 'classwize'?" in out.stderr
    assert not list((tmp_path / 'b').glob('*.pth'))  # failed before training
