"""Video GANs: MoCoGAN (Tulyakov et al. 2018) and its baseline without the content/motion
split (VGAN / TGAN-style: one latent, 3-D convolutions).

- ``mocogan``: a clip's content code ``z_content`` is drawn once and held for every frame; a
  GRU turns per-frame noise ``z_motion`` into a trajectory of motion codes; each frame is an
  image generator's output for (content, motion code). Two discriminators judge it, D_I one
  random frame and D_V the whole clip (``networks.video.mocogan_discriminator`` returns both
  scores, so Algorithm 1 as ``GAN`` runs it trains them together with the paper's equally
  weighted image and video terms). Holding ``z_content`` and drawing new ``z_motion`` moves
  the same items differently.
- ``video``: the baseline: one ``z`` through 3-D transposed convolutions, one 3-D
  convolutional discriminator (MoCoGAN's D_V alone).

Clips are [frames, H, W, C]; sample grids are contact sheets (one clip per row, its frames
across), and the export's output is ``video`` [N, frames, H, W, C] in [-1, 1]; ``generate``
writes GIFs (or MP4) and a contact sheet.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.data.sources import load_video
from tfgan_app.data.video import contact_sheet
from tfgan_app.gans.gan import GAN, compile_noise_model, named_inputs, noise_model_options
from tfgan_app.gans.registry import NOT_IMAGE_SWITCHES, BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Noise
from tfgan_app.networks.video import (
    flat_noise_generator, mocogan_discriminator, mocogan_generator, video_discriminator, video_generator,
)

PREVIEW_CLIPS = 8  # rows of a contact sheet


@dataclasses.dataclass
class MoCoGANSettings:
    """``[mocogan]``: the motion code and the networks' width (the content code is
    ``model.latent_dim``, d_C in the paper)."""

    motion_dim: int = dataclasses.field(default=10, metadata={"min": 1})  # d_M: the motion code per frame (10 in the paper)
    width: int = dataclasses.field(default=32, metadata={"min": 1})  # filters of D's first layer and G's last hidden layer


@dataclasses.dataclass
class VideoGANSettings:
    """``[video]``: the 3-D networks' width."""

    width: int = dataclasses.field(default=32, metadata={"min": 1})  # filters of D's first layer and G's last hidden layer


class VideoSamples:
    """What the video families share: clips shown as contact sheets."""

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"z": tf.random.stateless_normal([min(count, PREVIEW_CLIPS), self.noise_dim], seed)}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        clips = self.generate(inputs["z"]).numpy()
        return contact_sheet(clips), clips.shape[1]


class VideoGAN(VideoSamples, GAN):
    """One latent per clip (the baseline)."""


class MoCoGAN(VideoSamples, GAN):
    """Content and motion (module docstring). G is trained through a wrapper that takes the
    trainer's flat noise; the export is the two-input generator inside it."""

    core_name = "mocogan_generator"

    def exports(self) -> dict[str, keras.Model]:
        return {"": named_inputs(self.sampling_generator.get_layer(self.core_name), ("z_content", "z_motion"))}

    def input_kinds(self) -> dict[str, InputKind]:
        return {"z_content": Noise(), "z_motion": Noise()}


def _clip_shape(context: BuildContext) -> tuple[int, int, int]:
    frames, height, width, channels = context.element_shape
    if height != width:
        raise ValueError(f"the video networks make square frames; the clips are {height}x{width}")
    return frames, height, channels


def build_mocogan(context: BuildContext) -> MoCoGAN:
    settings: MoCoGANSettings = context.settings
    frames, size, channels = _clip_shape(context)
    generator = mocogan_generator(context.config.model.latent_dim, settings.motion_dim, frames, size, channels, settings.width)
    discriminator = mocogan_discriminator(frames, size, channels, settings.width)
    model = MoCoGAN(flat_noise_generator(generator), discriminator, **noise_model_options(context))
    return compile_noise_model(model, context)


def build_video(context: BuildContext) -> VideoGAN:
    settings: VideoGANSettings = context.settings
    frames, size, channels = _clip_shape(context)
    generator = video_generator(context.config.model.latent_dim, frames, size, channels, settings.width)
    discriminator = video_discriminator(frames, size, channels, settings.width)
    return compile_noise_model(VideoGAN(generator, discriminator, **noise_model_options(context)), context)


def _load(data, settings):
    source = load_video(data)  # which refuses a data.name that is not a video source
    source.labels, source.class_names = None, []  # unconditional: the labels serve the classifier only
    return source


FAMILIES = (
    Family(
        name="mocogan",
        summary="MoCoGAN (Tulyakov et al. 2018): content code per clip, GRU motion codes, image + video discriminators",
        build=build_mocogan,
        settings=MoCoGANSettings,
        data=DataNeeds(load=_load),
        switches=NOT_IMAGE_SWITCHES,
    ),
    Family(
        name="video",
        summary="video GAN baseline (VGAN/TGAN-style): one latent, 3-D transposed convolutions, 3-D discriminator",
        build=build_video,
        settings=VideoGANSettings,
        data=DataNeeds(load=_load),
        switches=NOT_IMAGE_SWITCHES,
    ),
)
