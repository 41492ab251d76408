"""Running a training job: strategy, callbacks, run directory (see ``trainer.train``)."""
