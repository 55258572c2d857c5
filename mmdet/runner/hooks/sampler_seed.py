from .base import HOOKS, Hook


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Tell the sampler the epoch so every epoch (and every rank alike) gets a new permutation."""

    def before_epoch(self, runner):
        sampler = getattr(runner.data_loader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(runner.epoch)
        batch_sampler = getattr(runner.data_loader, 'batch_sampler', None)
        if hasattr(getattr(batch_sampler, 'sampler', None), 'set_epoch'):
            batch_sampler.sampler.set_epoch(runner.epoch)
