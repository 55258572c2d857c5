"""tools/analysis_tools/compare_recipes.py: trains each config, one table of wall time and metric."""
import json
import os.path as osp
import subprocess
import sys

from tests.conftest import ROOT, run_env, write_user_config

TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'compare_recipes.py')


def test_two_configs_give_one_table(tmp_path, shapes_data):
    a = write_user_config(tmp_path / 'recipe_a.py', shapes_data, epochs=1,
                          extra="evaluation = dict(interval=1, metric='bbox')\n")
    b = write_user_config(tmp_path / 'recipe_b.py', shapes_data, epochs=1,
                          extra="evaluation = dict(interval=1, metric='bbox')\noptimizer = dict(lr=0.001)\n")
    out = subprocess.run([sys.executable, TOOL, str(a), str(b), '--work-dir', str(tmp_path / 'w'), '--out',
                          str(tmp_path / 'rows.json')], env=run_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = json.loads((tmp_path / 'rows.json').read_text())
    assert [osp.basename(r['config']) for r in rows] == ['recipe_a.py', 'recipe_b.py']
    assert all(r['returncode'] == 0 and 0 <= r['bbox_mAP'] <= 1 and r['seconds'] > 0 for r in rows)
    table = out.stdout[out.stdout.index('| config |'):].strip().splitlines()
    assert len(table) == 4 and f'{rows[1]["bbox_mAP"]:.3f} |' in table[3]


def test_missing_config_is_named(tmp_path):
    out = subprocess.run([sys.executable, TOOL, str(tmp_path / 'nope.py')], env=run_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0 and 'nope.py' in out.stderr


def _rebase(node, root):
    """Point every ``data/shapes/`` path of a config dict at ``root``."""
    if isinstance(node, dict):
        return {k: _rebase(v, root) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v, root) for v in node]
    if isinstance(node, str) and node.startswith('data/shapes/'):
        return osp.join(root, node[len('data/shapes/'):])
    return node


def test_the_shapes_recipes_build_and_load(shapes_data):
    """Each configs/shapes/recipes/*.py (the rows of docs/training_recipes.md) builds its model, its
    optimizer hook and its training data, and its pipeline yields images with boxes."""
    import glob

    import torch

    from mmdet.datasets import build_dataset
    from mmdet.models import build_detector
    from mmdet.runner.hooks import HOOKS
    from mmdet.utils import Config
    configs = sorted(glob.glob(osp.join(ROOT, 'configs', 'shapes', 'recipes', '*.py')))
    assert len(configs) >= 8
    for path in configs:
        cfg = Config.fromfile(path)
        ds = build_dataset(_rebase(cfg.to_dict()['data']['train'], shapes_data))
        item = ds[0]
        assert item['img'].data.dtype == torch.float32 and item['gt_bboxes'].data.shape[1] == 4, path
        build_detector(cfg.model)
        if cfg.optimizer_config.get('type'):
            HOOKS.get(cfg.optimizer_config['type'])
