# swa settings: after the main schedule, train swa_runner.max_epochs more epochs
# with a cyclic learning rate and average the weights at the end of each cycle
# when setting only_swa_training = True, perform only swa training and skip the
# conventional training; then swa_load_from (or swa_resume_from) names the start
only_swa_training = False
# whether to perform swa training
swa_training = True
# the model the SWA stage starts from: a path or a file in the work dir.
# 'best_bbox_mAP.pth' (as the original) means the best model the main stage's
# evaluation saved: unless evaluation.save_best says otherwise it is kept by the
# first metric of the results (save_best='auto'), so a COCO run writes and starts
# from best_bbox_mAP.pth and a VOC run (metric='mAP') from best_mAP.pth; 'auto' or
# None mean the same.  Without a best model (--no-validate): latest.pth.
swa_load_from = 'best_bbox_mAP.pth'
swa_resume_from = None

# swa optimizer
swa_optimizer = dict(
    type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001,
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
swa_optimizer_config = dict(grad_clip=None)

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
