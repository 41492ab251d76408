"""Image-to-image networks: CycleGAN's ResNet generator, pix2pix's U-Net, the PatchGAN.

Input names follow the export contract: generators take ``image`` [H, W, C] in [-1, 1] and
return images in [-1, 1]; a conditional PatchGAN takes ``data`` (the image judged) and
``condition`` (the input it should correspond to).
"""

from __future__ import annotations

import keras

from tfgan_app.networks.layers import ReflectionPadding2D, instance_norm, model_inputs, patch_layer


def _halvings(side: int, wanted: int) -> int:
    """How many stride-2 steps (at most ``wanted``) keep the side an even integer."""
    count = 0
    while count < wanted and side % 2 == 0 and side > 1:
        side, count = side // 2, count + 1
    if count == 0:
        raise ValueError(f"image side {side} cannot be downsampled: use an even size such as 28, 64 or 256")
    return count


def resnet_generator(
    image_shape: tuple[int, int, int],
    out_channels: int | None = None,
    width: int = 64,
    residual_blocks: int = 9,
    downsamplings: int = 2,
) -> keras.Model:
    """Zhu et al. 2017 (after Johnson et al. 2016): c7s1-w, d2w, d4w, R4w x blocks, u2w, uw,
    c7s1-C with instance norm, reflection padding and a tanh output."""
    height, _, channels = image_shape
    steps = _halvings(height, downsamplings)
    image = keras.Input(image_shape, name="image")
    x = ReflectionPadding2D(3)(image)
    x = keras.layers.Conv2D(width, 7, name="stem")(x)
    x = keras.layers.ReLU()(instance_norm("stem_norm")(x))
    for index in range(steps):
        x = keras.layers.Conv2D(width * 2 ** (index + 1), 3, strides=2, padding="same", name=f"down_{index}")(x)
        x = keras.layers.ReLU()(instance_norm(f"down_{index}_norm")(x))
    filters = width * 2**steps
    for index in range(residual_blocks):
        shortcut = x
        for part in (0, 1):
            x = ReflectionPadding2D(1)(x)
            x = keras.layers.Conv2D(filters, 3, name=f"res_{index}_{part}")(x)
            x = instance_norm(f"res_{index}_{part}_norm")(x)
            if part == 0:
                x = keras.layers.ReLU()(x)
        x = keras.layers.Add(name=f"res_{index}")([shortcut, x])
    for index in range(steps):
        x = keras.layers.Conv2DTranspose(
            width * 2 ** (steps - index - 1), 3, strides=2, padding="same", name=f"up_{index}"
        )(x)
        x = keras.layers.ReLU()(instance_norm(f"up_{index}_norm")(x))
    x = ReflectionPadding2D(3)(x)
    x = keras.layers.Conv2D(out_channels or channels, 7, name="to_image")(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(image, images, name="resnet_generator")


def unet_generator(
    image_shape: tuple[int, int, int],
    out_channels: int,
    width: int = 64,
    depth: int = 8,
) -> keras.Model:
    """Isola et al. 2017: encoder C64-C128-C256-C512..., decoder mirroring it, each decoder
    layer joined with the encoder layer of the same size (skip connections), tanh output.
    ``depth`` is capped by how often the image side halves evenly (28 -> 14 -> 7: 2)."""
    image = keras.Input(image_shape, name="image")
    images = unet(image, out_channels, width, depth)
    return keras.Model(image, images, name="unet_generator")


def unet(x: keras.KerasTensor, out_channels: int, width: int = 64, depth: int = 8) -> keras.KerasTensor:
    """The U-Net of ``unet_generator`` applied to a tensor: [n, H, W, *] -> images
    [n, H, W, out_channels] in [-1, 1] (float32)."""
    steps = _halvings(x.shape[1], depth)
    skips = []
    for index in range(steps):
        x = keras.layers.Conv2D(
            min(width * 2**index, width * 8), 4, strides=2, padding="same", name=f"down_{index}"
        )(x)
        if index > 0 and index < steps - 1:  # no norm on the first layer nor the 1x1-ish bottleneck
            x = instance_norm(f"down_{index}_norm")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        skips.append(x)
    for index in reversed(range(steps - 1)):
        x = keras.layers.Conv2DTranspose(
            min(width * 2**index, width * 8), 4, strides=2, padding="same", name=f"up_{index}"
        )(x)
        x = keras.layers.ReLU()(instance_norm(f"up_{index}_norm")(x))
        x = keras.layers.Concatenate(name=f"skip_{index}")([x, skips[index]])
    x = keras.layers.Conv2DTranspose(out_channels, 4, strides=2, padding="same", name="to_image")(x)
    return keras.layers.Activation("tanh", dtype="float32", name="unet_images")(x)


def patchgan_discriminator(
    image_shape: tuple[int, int, int],
    condition_channels: int = 0,
    width: int = 64,
    layers: int = 3,
) -> keras.Model:
    """PatchGAN (Isola et al. 2017; 70x70 with ``layers=3`` on 256-pixel images):
    C64 - C128 - C256 (stride 2) - C512 (stride 1) - 1-channel map of per-patch logits.
    Instance norm except on the first layer. With ``condition_channels`` it judges the pair
    (condition, image) concatenated along channels, as pix2pix's conditional D does."""
    data = keras.Input(image_shape, name="data")
    inputs = [data]
    x = data
    if condition_channels:
        condition = keras.Input((*image_shape[:2], condition_channels), name="condition")
        inputs.append(condition)
        x = keras.layers.Concatenate(name="pair")([condition, data])
    steps = _halvings(image_shape[0], layers)
    for index in range(steps + 1):
        stride = 2 if index < steps else 1
        x = patch_layer(x, min(width * 2**index, width * 8), stride, f"conv_{index}", normalise=index > 0)
    logits = keras.layers.Conv2D(1, 4, padding="same", dtype="float32", name="patch_logits")(x)
    return keras.Model(model_inputs(inputs), {"logit": logits}, name="patchgan_discriminator")
