"""Network builders; ``build_networks`` picks them from a config."""

from __future__ import annotations

import hashlib

import keras
import numpy as np

from tfgan_app.config import ModelConfig
from tfgan_app.networks.dcgan import dcgan_discriminator, dcgan_generator
from tfgan_app.networks.layers import MinibatchStddev
from tfgan_app.networks.mlp import mlp_discriminator, mlp_generator

__all__ = [
    "build_networks", "dcgan_generator", "dcgan_discriminator", "mlp_generator",
    "mlp_discriminator", "MinibatchStddev", "weights_sha256",
]


def weights_sha256(*models: keras.Model) -> str:
    """SHA-256 of the models' weight arrays in order (dtype, shape and bytes of each): equal
    exactly when the models hold the same weights. Layer names are left out: Keras numbers
    them by how many layers the process built before."""
    digest = hashlib.sha256()
    for model in models:
        for weight in model.weights:
            array = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def build_networks(
    model: ModelConfig,
    data_shape: tuple[int, ...],
    synchronized_batch_norm: bool = False,
    num_classes: int = 0,
    code_dim: int = 0,
    class_head: bool = False,
) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) for data of shape ``data_shape`` (no batch dimension).

    ``num_classes``: a conditional pair (label input to both); ``code_dim``: InfoGAN's code
    input to G and a Q head of that size on D. ``class_head`` (AC-GAN): the label goes to G
    only, and D predicts it instead, with a Q head of ``num_classes`` logits (a user's
    discriminator builder is then called with ``num_classes=0, code_dim=num_classes``).
    ``model.generator`` / ``model.discriminator`` ("package.module:function") replace the
    architecture's builder by the user's.
    """
    discriminator_classes, head = (0, num_classes) if class_head else (num_classes, code_dim)
    if model.generator or model.discriminator:
        if not (model.generator and model.discriminator):
            raise ValueError("set both model.generator and model.discriminator (package.module:function), or neither")
        generator = user_builder("model.generator", model.generator)(
            latent_dim=model.latent_dim, data_shape=tuple(data_shape), num_classes=num_classes, code_dim=code_dim,
        )
        discriminator = user_builder("model.discriminator", model.discriminator)(
            data_shape=tuple(data_shape), num_classes=discriminator_classes, code_dim=head,
        )
        return generator, discriminator
    if model.architecture == "mlp":
        if len(data_shape) != 1:
            raise ValueError(f"the mlp architecture takes vectors, got data of shape {data_shape}")
        generator = mlp_generator(
            model.latent_dim, data_shape[0], model.hidden_units, model.hidden_layers, num_classes, code_dim
        )
        discriminator = mlp_discriminator(
            data_shape[0], model.hidden_units, model.hidden_layers,
            model.spectral_norm, model.minibatch_stddev, discriminator_classes, head, model.packing,
        )
        return generator, discriminator
    if model.architecture == "dcgan":
        if len(data_shape) != 3 or data_shape[0] != data_shape[1]:
            raise ValueError(f"dcgan takes square images [H, W, C], got data of shape {data_shape}")
        generator = dcgan_generator(
            model.latent_dim, data_shape, model.generator_width,
            model.batch_norm_momentum, synchronized_batch_norm, num_classes, code_dim,
        )
        discriminator = dcgan_discriminator(
            data_shape, model.discriminator_width, model.spectral_norm,
            model.minibatch_stddev, model.batch_norm_momentum, synchronized_batch_norm,
            discriminator_classes, head, model.packing, model.discriminator_norm,
        )
        return generator, discriminator
    if model.architecture == "stylegan":
        from tfgan_app.networks.stylegan import stylegan_generator

        if len(data_shape) != 3 or data_shape[0] != data_shape[1]:
            raise ValueError(f"stylegan takes square images [H, W, C], got data of shape {data_shape}")
        if code_dim:
            raise ValueError("the stylegan architecture serves the gan and cgan families (no InfoGAN code input)")
        generator = stylegan_generator(
            model.latent_dim, data_shape, model.generator_width, model.mapping_layers, model.style_mixing, num_classes,
        )
        discriminator = dcgan_discriminator(
            data_shape, model.discriminator_width, model.spectral_norm, model.minibatch_stddev,
            model.batch_norm_momentum, synchronized_batch_norm, discriminator_classes, head, model.packing,
            model.discriminator_norm,
        )
        return generator, discriminator
    if model.architecture == "r3gan":
        from tfgan_app.networks.r3gan import r3gan_discriminator, r3gan_generator

        if len(data_shape) != 3 or data_shape[0] != data_shape[1]:
            raise ValueError(f"r3gan takes square images [H, W, C], got data of shape {data_shape}")
        blocks = dict(blocks_per_stage=model.blocks_per_stage, cardinality=model.cardinality, expansion=model.expansion)
        generator = r3gan_generator(
            model.latent_dim, data_shape, model.generator_width, **blocks, num_classes=num_classes, code_dim=code_dim,
        )
        discriminator = r3gan_discriminator(
            data_shape, model.discriminator_width, **blocks, num_classes=discriminator_classes,
            auxiliary_outputs=head, packing=model.packing,
        )
        return generator, discriminator
    raise ValueError(f"unknown architecture {model.architecture!r}; choose 'dcgan', 'stylegan', 'r3gan' or 'mlp'")


def user_builder(key: str, spec: str):
    """The function ``spec`` ("package.module:function") names; ValueError naming ``key``."""
    import importlib

    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"{key} = {spec!r}: write it as package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"{key} = {spec!r}: cannot import {module_name!r} ({error}); is it on PYTHONPATH?") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"{key} = {spec!r}: {module_name} has no function {function_name!r}")
    return function
