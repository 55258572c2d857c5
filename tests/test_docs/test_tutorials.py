"""The tutorials under docs/tutorials/ run as their readers would run them.

Each tutorial is read top to bottom. A fenced code block whose first line is

* ``# file: PATH`` is saved at ``PATH`` (relative to the repository root; the marker line is
  left out of the file), replacing what an earlier block saved there;
* ``# run`` is run: a ``python`` block as a script (``python block.py``), a ``bash``/``sh``/
  ``shell`` block with ``bash -e -o pipefail``.

Every other ``python`` block (a config fragment, say) must at least compile.

The blocks of one tutorial run in a fresh workspace that stands in for the repository root:
``configs/`` and ``tools/`` are links to this checkout's, everything else (``my_project/``,
``data/``, ``work_dirs/``) is the tutorial's own. Commands run there with ``python`` being this
interpreter, ``PYTHONPATH`` = the workspace and this checkout, and ``OMP_NUM_THREADS=1``. A block
that fails stops the tutorial: the test fails naming the tutorial, the block's number and line,
and shows the block and the end of its output. ``TUTORIALS_VERBOSE=1 pytest -s`` prints every
block's output.
"""
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TUTORIAL_DIR = osp.join(ROOT, 'docs', 'tutorials')
TUTORIALS = sorted(f for f in os.listdir(TUTORIAL_DIR) if f.endswith('.md')) if osp.isdir(TUTORIAL_DIR) else []
LINKED = ('configs', 'tools')  # repository folders the tutorials use, linked into the workspace
SHELLS = ('bash', 'sh', 'shell')
BLOCK_TIMEOUT = 300
FENCE = re.compile(r'^([ \t]*)(`{3,})([\w+-]*)[^`\n]*$')
FILE_MARK = re.compile(r'^#\s*file:\s*(\S+)\s*$')
RUN_MARK = re.compile(r'^#\s*run\s*$')


class Block:
    def __init__(self, number, line, lang, text):
        self.number, self.line, self.lang = number, line, lang
        first, _, rest = text.partition('\n')
        self.first, self.rest, self.text = first.strip(), rest, text
        m = FILE_MARK.match(self.first)
        self.path = m.group(1) if m else None
        self.is_run = bool(RUN_MARK.match(self.first))

    def where(self, name):
        return f'{name}, block {self.number} (line {self.line}, ```{self.lang})'


def read_blocks(md_text):
    """The fenced code blocks of a markdown text, in order, dedented (blocks inside list items)."""
    blocks, lines, i = [], md_text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not (lines[i].strip() == fence and lines[i].startswith(indent)):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f'code block opened at line {start} is never closed')
        blocks.append(Block(len(blocks) + 1, start, lang, textwrap.dedent('\n'.join(body)) + '\n'))
        i += 1
    return blocks


def workspace_path(work, rel, where):
    """``work/rel`` for a ``# file:`` block, refusing paths outside the workspace or in a linked folder."""
    norm = osp.normpath(rel)
    if osp.isabs(rel) or norm.startswith('..') or norm.split(os.sep)[0] in LINKED:
        raise AssertionError(f'{where}: "# file: {rel}" must be a relative path in the workspace, '
                             f'outside {", ".join(LINKED)}')
    return osp.join(work, norm)


def make_workspace(tmp_path):
    work = tmp_path / 'root'
    work.mkdir()
    for name in LINKED:
        os.symlink(osp.join(ROOT, name), work / name)
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', MPLBACKEND='Agg',
               PYTHONPATH=os.pathsep.join([str(work), ROOT] + [p for p in [env.get('PYTHONPATH')] if p]),
               PATH=os.pathsep.join([osp.dirname(sys.executable), env.get('PATH', '')]))
    env.pop('PYTHONHOME', None)
    return str(work), env


def run_block(block, name, work, env, scripts):
    os.makedirs(scripts, exist_ok=True)
    if block.lang == 'python':
        script = osp.join(scripts, f'block_{block.number:02d}.py')
        cmd = [sys.executable, script]
    elif block.lang in SHELLS:
        script = osp.join(scripts, f'block_{block.number:02d}.sh')
        cmd = ['bash', '-e', '-o', 'pipefail', script]
    else:
        raise AssertionError(f'{block.where(name)}: "# run" needs a python or bash block')
    with open(script, 'w') as f:
        f.write(block.rest)
    try:
        out = subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=BLOCK_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f'{block.where(name)} ran past {BLOCK_TIMEOUT} s\n--- block ---\n{block.text}'
                    f'--- output (end) ---\n{(e.output or "")[-4000:]}', pytrace=False)
    if out.returncode != 0:
        pytest.fail(f'{block.where(name)} failed with exit status {out.returncode}\n--- block ---\n{block.text}'
                    f'--- output (end) ---\n{out.stdout[-6000:]}', pytrace=False)
    return out.stdout


def run_tutorial(name, tmp_path):
    with open(osp.join(TUTORIAL_DIR, name)) as f:
        blocks = read_blocks(f.read())
    work, env = make_workspace(tmp_path)
    scripts = str(tmp_path / 'blocks')
    timings = []
    for block in blocks:
        if block.path is not None:
            path = workspace_path(work, block.path, block.where(name))
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(block.rest)
        elif block.is_run:
            t0 = time.perf_counter()
            out = run_block(block, name, work, env, scripts)
            if os.environ.get('TUTORIALS_VERBOSE'):
                print(f'\n===== {block.where(name)}\n{out}')
            timings.append((block.number, time.perf_counter() - t0))
        if block.lang == 'python' and not block.is_run:
            try:
                compile(block.rest if block.path else block.text, block.where(name), 'exec')
            except SyntaxError as e:
                pytest.fail(f'{block.where(name)} is not valid Python: {e}\n--- block ---\n{block.text}',
                            pytrace=False)
    return blocks, timings


def test_the_tutorials_are_there():
    assert {'customize_models.md', 'customize_dataset.md', 'data_pipeline.md',
            'customize_runtime.md'} <= set(TUTORIALS), TUTORIALS


@pytest.mark.parametrize('name', TUTORIALS)
def test_tutorial_runs(name, tmp_path):
    blocks, timings = run_tutorial(name, tmp_path)
    assert any(b.is_run for b in blocks), f'{name} has no "# run" block'
    print(f'{name}: ' + ', '.join(f'block {n} {t:.1f}s' for n, t in timings))


def test_block_reader():
    md = textwrap.dedent('''\
        text
        ```python
        # file: pkg/a.py
        x = 1
        ```

        1. a step

           ```bash
           # run
           echo hi
           ```
        ````text
        ```
        ````
        ''')
    blocks = read_blocks(md)
    assert [(b.number, b.line, b.lang, b.path, b.is_run) for b in blocks] == [
        (1, 2, 'python', 'pkg/a.py', False), (2, 9, 'bash', None, True), (3, 13, 'text', None, False)]
    assert blocks[0].rest == 'x = 1\n' and blocks[1].rest == 'echo hi\n' and blocks[2].text == '```\n'
    with pytest.raises(AssertionError, match='relative path'):
        workspace_path('/w', '../x.py', 'here')
    with pytest.raises(AssertionError, match='outside configs'):
        workspace_path('/w', 'configs/x.py', 'here')


def test_readme_and_porting_guide_link_every_tutorial():
    for doc in ('README.md', osp.join('docs', 'porting_2x.md')):
        with open(osp.join(ROOT, doc)) as f:
            text = f.read()
        missing = [t for t in TUTORIALS if f'tutorials/{t}' not in text]
        assert not missing, f'{doc} does not link {missing}'
