"""mmcv 1.x's small helpers: type checks, progress bars, version parsing."""
import sys
import time
from collections.abc import Sequence

__all__ = ['is_str', 'is_seq_of', 'is_list_of', 'is_tuple_of', 'ProgressBar', 'track_iter_progress', 'track_progress',
           'digit_version']


def is_str(x):
    """Whether ``x`` is a str."""
    return isinstance(x, str)


def is_seq_of(seq, expected_type, seq_type=None):
    """Whether ``seq`` is a sequence (of ``seq_type`` if given) whose items are all ``expected_type``."""
    if not isinstance(seq, seq_type or Sequence):
        return False
    return all(isinstance(item, expected_type) for item in seq)


def is_list_of(seq, expected_type):
    """``is_seq_of(seq, expected_type, list)``."""
    return is_seq_of(seq, expected_type, list)


def is_tuple_of(seq, expected_type):
    """``is_seq_of(seq, expected_type, tuple)``."""
    return is_seq_of(seq, expected_type, tuple)


def digit_version(version_str):
    """'1.3.17' -> (1, 3, 17); a pre-release part ('rc1') sorts before the release."""
    parts = []
    for p in version_str.split('+')[0].split('.'):
        digits = ''.join(c for c in p if c.isdigit())
        parts.append(int(digits) if digits else 0)
        if digits != p:
            parts.append(-1)
    return tuple(parts)


class ProgressBar:
    """A text progress bar: ``bar = ProgressBar(n); bar.update()`` per task (written to stdout)."""

    def __init__(self, task_num=0, bar_width=50, start=True, file=sys.stdout):
        self.task_num, self.bar_width, self.file = task_num, bar_width, file
        self.completed = 0
        if start:
            self.start()

    def start(self):
        self.start_time = time.time()
        self.file.write(f'[{" " * self.bar_width}] 0/{self.task_num}, elapsed: 0s' if self.task_num else
                        'completed: 0, elapsed: 0s')
        self.file.flush()

    def update(self, num_tasks=1):
        self.completed += num_tasks
        elapsed = max(time.time() - self.start_time, 1e-9)
        fps = self.completed / elapsed
        if self.task_num:
            done = int(self.bar_width * min(self.completed / self.task_num, 1))
            eta = int(elapsed * (self.task_num - self.completed) / self.completed + 0.5)
            self.file.write(f'\r[{">" * done}{" " * (self.bar_width - done)}] {self.completed}/{self.task_num}, '
                            f'{fps:.1f} task/s, elapsed: {int(elapsed + 0.5)}s, ETA: {eta:5}s')
        else:
            self.file.write(f'\rcompleted: {self.completed}, elapsed: {int(elapsed + 0.5)}s, {fps:.1f} tasks/s')
        self.file.flush()


def track_iter_progress(tasks, bar_width=50, file=sys.stdout):
    """Iterate ``tasks`` (a sequence, or ``(iterable, length)``) showing a progress bar."""
    tasks, n = tasks if isinstance(tasks, tuple) and len(tasks) == 2 and isinstance(tasks[1], int) else (
        tasks, len(tasks))
    bar = ProgressBar(n, bar_width, file=file)
    for task in tasks:
        yield task
        bar.update()
    file.write('\n')


def track_progress(func, tasks, bar_width=50, file=sys.stdout, **kwargs):
    """``[func(t, **kwargs) for t in tasks]`` with a progress bar."""
    return [func(t, **kwargs) for t in track_iter_progress(tasks, bar_width, file)]
