"""Data sources and ``tf.data`` pipelines (see ``pipeline`` for the batch layout)."""

from tfgan_app.data.folder import ImageFolderError, load_image_folder
from tfgan_app.data.idx import IdxError, read_idx
from tfgan_app.data.pipeline import make_train_dataset, steps_per_epoch, to_model_range
from tfgan_app.data.sources import DataError, Source, load_source
from tfgan_app.data.toy import TOY_DISTRIBUTIONS, ToyDistribution

__all__ = [
    "DataError", "IdxError", "ImageFolderError", "Source", "TOY_DISTRIBUTIONS", "ToyDistribution",
    "load_image_folder", "load_source", "make_train_dataset", "read_idx", "steps_per_epoch",
    "to_model_range",
]
