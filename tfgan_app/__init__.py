"""tfgan_app: train GANs with TensorFlow/Keras 3 and ship their generators.

The Keras-native API (see the README, "Using it from Python")::

    gan = tfgan_app.GAN(generator, discriminator)
    gan.compile(generator_optimizer=..., discriminator_optimizer=..., loss="non_saturating")
    gan.fit(images, epochs=1)
    tfgan_app.export_generator(gan, "saved_models/mine")

The names below are imported on first use, so ``import tfgan_app.config`` stays light.
"""

__version__ = "0.1.0"

_LAZY = {
    "GAN": "tfgan_app.gans.gan",
    "ConditionalGAN": "tfgan_app.gans.conditional",
    "InfoGAN": "tfgan_app.gans.infogan",
    "export_generator": "tfgan_app.export.exporter",
    "callbacks": "tfgan_app.training.callbacks",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'tfgan_app' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name])
    return module if name == "callbacks" else getattr(module, name)
