"""The version is read by setup.py without importing the package (pip's isolated build has no torch)."""
import ast
import os.path as osp
import subprocess
import sys

import mmdet
from mmdet.version import parse_version_info

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_setup_reads_version_without_the_package():
    # setup.py in a fresh interpreter, as pip's build backend runs it
    code = ("import runpy, sys; sys.argv = ['setup.py', '--version']; "
            "import setuptools; runpy.run_path('setup.py', run_name='__main__')")
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == mmdet.__version__


def test_version_file_imports_nothing_from_the_package():
    src = open(osp.join(ROOT, 'mmdet', 'version.py')).read()
    assert not [n for n in ast.walk(ast.parse(src)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    scope = {}
    exec(compile(src, 'version.py', 'exec'), scope)  # what setup.py does: no __name__, no package
    assert scope['__version__'] == mmdet.__version__


def test_parse_version_info():
    assert parse_version_info('2.10.0+vfnet.1') == (2, 10, 0)
    assert parse_version_info('2.10.0rc1') == (2, 10, 0, 'rc1')
    assert mmdet.version_info == (2, 10, 0)
