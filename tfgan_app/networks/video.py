"""Video networks: MoCoGAN's content/motion generator with an image and a video
discriminator (Tulyakov et al. 2018), and the baseline without the split, one latent through
3-D transposed convolutions (VGAN, Vondrick et al. 2016; TGAN, Saito et al. 2017).

Clips are [frames, H, W, C] in [-1, 1]. Both generators end in a layer called ``video``, the
exported output's name. Frames and sides are multiples of 8 (three stride-2 steps from the
first grid), 16 x 32 x 32 by default.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

STEPS = 3  # stride-2 steps between the first grid and the clip, in each upsampled axis
KERNEL = 4


def check_clip_shape(frames: int, size: int) -> None:
    for what, value in (("data.video_frames", frames), ("data.video_size", size)):
        if value % 2**STEPS or value < 2**STEPS:
            raise ValueError(f"{what} = {value}: the video networks take multiples of {2**STEPS} (16 frames, 32 pixels)")


def frame_generator(input_dim: int, size: int, channels: int, width: int) -> keras.Model:
    """One frame from one code: Dense(4w x s/8 x s/8) -> [ConvTranspose 4x4 stride 2, batch
    norm, ReLU] x 2 -> ConvTranspose(channels) -> tanh (the DCGAN generator)."""
    start = size // 2**STEPS
    code = keras.Input((input_dim,), name="code")
    frame = _upsampling_stack(code, (start, start), 4 * width, channels, keras.layers.Conv2DTranspose, "frame")
    return keras.Model(code, frame, name="frame_generator")


def _upsampling_stack(code, grid: tuple[int, ...], filters: int, channels: int, transposed: type, output: str):
    """Dense(grid x filters) -> [transposed convolution 4 stride 2, batch norm, ReLU] x 2,
    halving the filters -> transposed convolution to ``channels`` -> tanh, named ``output``
    (the DCGAN generator, in 2-D or 3-D by ``transposed``)."""
    x = keras.layers.Dense(int(np.prod(grid)) * filters, use_bias=False, name="project")(code)
    x = keras.layers.Reshape((*grid, filters))(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(name="project_norm")(x))
    for index in range(STEPS - 1):
        x = transposed(filters // 2 ** (index + 1), KERNEL, 2, padding="same", use_bias=False, name=f"up_{index}")(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization(name=f"up_{index}_norm")(x))
    x = transposed(channels, KERNEL, 2, padding="same", name=f"to_{output}")(x)
    return keras.layers.Activation("tanh", dtype="float32", name=output)(x)


def mocogan_generator(content_dim: int, motion_dim: int, frames: int, size: int, channels: int, width: int) -> keras.Model:
    """[z_content [content_dim], z_motion [frames, motion_dim]] -> ``video`` [frames, H, W, C]:
    a GRU turns the per-frame motion noise into a trajectory of motion codes, each frame is
    the frame generator applied to (content, motion code of that frame) (MoCoGAN, sec. 3.1)."""
    check_clip_shape(frames, size)
    z_content = keras.Input((content_dim,), name="z_content")
    z_motion = keras.Input((frames, motion_dim), name="z_motion")
    motion = keras.layers.GRU(motion_dim, return_sequences=True, name="motion_rnn")(z_motion)
    content = keras.layers.RepeatVector(frames, name="content_per_frame")(z_content)
    codes = keras.layers.Concatenate(name="frame_codes")([content, motion])
    clip = keras.layers.TimeDistributed(frame_generator(content_dim + motion_dim, size, channels, width), name="frames")(codes)
    video = keras.layers.Identity(dtype="float32", name="video")(clip)
    return keras.Model([z_content, z_motion], video, name="mocogan_generator")


def flat_noise_generator(generator: keras.Model) -> keras.Model:
    """``generator`` with its inputs drawn as one flat noise vector ``z`` [content + frames x
    motion] (what the trainer draws per example), split and reshaped into its inputs."""
    content_dim = int(generator.inputs[0].shape[-1])
    frames, motion_dim = (int(d) for d in generator.inputs[1].shape[1:])
    z = keras.Input((content_dim + frames * motion_dim,), name="z")
    z_content = keras.layers.Identity(name="z_content_part")(z[:, :content_dim])
    z_motion = keras.layers.Reshape((frames, motion_dim), name="z_motion_part")(z[:, content_dim:])
    return keras.Model(z, generator([z_content, z_motion]), name=f"{generator.name}_flat")


def video_generator(latent_dim: int, frames: int, size: int, channels: int, width: int) -> keras.Model:
    """``z`` -> Dense(8w x f/8 x s/8 x s/8) -> [Conv3DTranspose 4x4x4 stride 2, batch norm,
    ReLU] x 2 -> Conv3DTranspose(channels) -> tanh: ``video``. One latent for the whole clip,
    time and space upsampled together (the VGAN/TGAN baseline)."""
    check_clip_shape(frames, size)
    start_frames, start = frames // 2**STEPS, size // 2**STEPS
    z = keras.Input((latent_dim,), name="z")
    video = _upsampling_stack(z, (start_frames, start, start), 8 * width, channels, keras.layers.Conv3DTranspose, "video")
    return keras.Model(z, video, name="video_generator")


def _downsampling_stack(x: keras.KerasTensor, width: int, convolution: type, name: str) -> keras.KerasTensor:
    """[convolution 4 stride 2, LeakyReLU 0.2] x 3, doubling the filters from ``width``, batch
    norm after all but the first, flattened (the DCGAN discriminator, in 2-D or 3-D by
    ``convolution``)."""
    for index in range(STEPS):
        x = convolution(width * 2**index, KERNEL, 2, padding="same", name=f"{name}_down_{index}")(x)
        if index:
            x = keras.layers.BatchNormalization(name=f"{name}_down_{index}_norm")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    return keras.layers.Flatten(name=f"{name}_features")(x)


def video_discriminator(frames: int, size: int, channels: int, width: int) -> keras.Model:
    """``data`` [frames, H, W, C] -> 3-D convolutions -> ``logit`` (MoCoGAN's D_V, and the
    baseline's only discriminator)."""
    data = keras.Input((frames, size, size, channels), name="data")
    features = _downsampling_stack(data, width, keras.layers.Conv3D, "video")
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(features)
    return keras.Model(data, {"logit": logit, "features": features}, name="video_discriminator")


class RandomFrame(keras.layers.Layer):
    """One frame of each clip: in training a random one per clip (MoCoGAN's image
    discriminator sees single frames sampled from the clips), else the middle one. The draws
    come from a ``SeedGenerator``, whose state a checkpoint keeps."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, clips, training: bool = False):
        frames = tf.shape(clips)[1]
        if training:
            index = keras.random.randint(tf.shape(clips)[:1], 0, frames, seed=self.seed_generator)
        else:
            index = tf.fill(tf.shape(clips)[:1], frames // 2)
        return tf.gather(clips, index, axis=1, batch_dims=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])


def mocogan_discriminator(frames: int, size: int, channels: int, width: int) -> keras.Model:
    """``data`` [frames, H, W, C] -> ``logit`` [2, 1]: D_V's score of the clip and D_I's score
    of one of its frames (``RandomFrame``). The adversarial losses average over these two
    scores, so one update trains both discriminators with MoCoGAN's equally weighted
    image and video terms (eq. 2)."""
    data = keras.Input((frames, size, size, channels), name="data")
    video_features = _downsampling_stack(data, width, keras.layers.Conv3D, "video")
    frame = RandomFrame(name="random_frame")(data)
    image_features = _downsampling_stack(frame, width, keras.layers.Conv2D, "image")
    video_logit = keras.layers.Dense(1, dtype="float32", name="video_logit")(video_features)
    image_logit = keras.layers.Dense(1, dtype="float32", name="image_logit")(image_features)
    both = keras.layers.Concatenate(dtype="float32")([video_logit, image_logit])
    logit = keras.layers.Reshape((2, 1), dtype="float32", name="logit")(both)
    features = keras.layers.Concatenate(dtype="float32", name="features")([video_features, image_features])
    return keras.Model(data, {"logit": logit, "features": features}, name="mocogan_discriminator")


def clip_classifier(clip_shape: tuple[int, ...], num_classes: int, feature_layer: str = "features") -> keras.Model:
    """video [frames, H, W, C] -> [Conv3D 3x3x3, ReLU, max pool 2] x 3 (16, 32, 64 filters) ->
    Dense(128) ``features`` -> Dense(classes) logits: the clip classifier whose features the
    FVD-style distance is computed on (FVD, Unterthiner et al. 2018, uses an action
    recognition network's features; ours learns Moving Fashion-MNIST's item and direction)."""
    from tfgan_app.networks.layers import classifier_head

    video = keras.Input(clip_shape, name="video")
    x = video
    for filters in (16, 32, 64):
        x = keras.layers.Conv3D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling3D(2)(x)
    x = keras.layers.Dropout(0.25)(x)
    return keras.Model(video, classifier_head(x, num_classes, feature_layer), name="clip_classifier")
