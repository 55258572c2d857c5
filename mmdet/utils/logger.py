"""The ``mmdet`` logger: one stream handler, a file handler on rank 0."""
import logging

from .dist import get_dist_info

_initialized = set()


def get_logger(name='mmdet', log_file=None, log_level=logging.INFO):
    logger = logging.getLogger(name)
    if name in _initialized and log_file is None:
        return logger
    rank, _ = get_dist_info()
    fmt = logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s')
    if name not in _initialized:
        logger.propagate = False
        sh = logging.StreamHandler()
        sh.setFormatter(fmt)
        logger.addHandler(sh)
        _initialized.add(name)
    if log_file is not None and rank == 0:
        fh = logging.FileHandler(log_file, 'w')
        fh.setFormatter(fmt)
        logger.addHandler(fh)
    logger.setLevel(log_level if rank == 0 else logging.ERROR)
    return logger


def get_root_logger(log_file=None, log_level=logging.INFO):
    return get_logger('mmdet', log_file, log_level)


def print_log(msg, logger=None, level=logging.INFO):
    if logger is None:
        print(msg, flush=True)
    elif logger == 'silent':
        return
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    else:
        get_logger(logger).log(level, msg)
