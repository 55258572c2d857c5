# swa settings: after the main schedule, train swa_runner.max_epochs more epochs
# with a cyclic learning rate and average the weights at the end of each cycle
swa_training = True
# the model the SWA stage starts from (a file in the work dir, or a path)
swa_load_from = 'best_bbox_mAP.pth'
swa_resume_from = None

# swa optimizer
swa_optimizer = dict(
    _delete_=True, type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001,
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
swa_optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))

# swa learning policy: one cosine-shaped decay from lr to 0.01 * lr per epoch
swa_lr_config = dict(
    policy='cyclic',
    target_ratio=(1, 0.01),
    cyclic_times=12,
    step_ratio_up=0.0)
swa_runner = dict(type='EpochBasedRunner', max_epochs=12)

# swa checkpoint setting
swa_interval = 1
swa_checkpoint_config = dict(interval=1, filename_tmpl='swa_epoch_{}.pth')
