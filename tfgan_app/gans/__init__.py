"""GAN families, one module each, found by name through ``registry`` (``BUILT_IN`` and the
``tfgan_app.families`` plugins), each importing only when it is named.

- ``gan``: ``GAN``, Goodfellow et al.'s algorithm with the stabilisers (base of the next ones)
- ``conditional``, ``acgan``, ``biggan``: class-conditional generators
- ``infogan``: ``InfoGAN``, latent codes recovered by an auxiliary head
- ``semi_supervised``: a classifier from a few labels
- ``pix2pix``, ``cyclegan``, ``spade``, ``text2image``: generators conditioned on an input
- ``restoration``: SRGAN super-resolution and context-encoder inpainting
- ``domain_adaptation``: DANN, ADDA; ``anomaly``: EGBAD
- ``sequence``: recurrent networks for time series (TimeGAN)
- ``template``: the smallest complete family, the starting point for a new one

``base`` holds the interface every family model implements and the shared machinery
(optimizer steps with loss scaling, EMA, regulariser hooks); ``build.build_model`` makes a
family's compiled model from a config. The names below are imported on first use, so that
looking one family up does not import the others.
"""

import importlib

_LAZY = {
    "GAN": "tfgan_app.gans.gan", "ConditionalGAN": "tfgan_app.gans.conditional", "InfoGAN": "tfgan_app.gans.infogan",
    "Pix2Pix": "tfgan_app.gans.pix2pix", "CycleGAN": "tfgan_app.gans.cyclegan",
    "RestorationGAN": "tfgan_app.gans.restoration", "DANN": "tfgan_app.gans.domain_adaptation",
    "ADDA": "tfgan_app.gans.domain_adaptation", "EGBAD": "tfgan_app.gans.anomaly",
    "SequenceGAN": "tfgan_app.gans.sequence", "AdversarialModel": "tfgan_app.gans.base",
    "ExponentialMovingAverage": "tfgan_app.gans.base", "optimizer_step": "tfgan_app.gans.base",
    "Family": "tfgan_app.gans.registry", "families": "tfgan_app.gans.registry", "get_family": "tfgan_app.gans.registry",
    "load_config": "tfgan_app.gans.registry", "family_source": "tfgan_app.gans.registry",
    "build_model": "tfgan_app.gans.build", "make_optimizer": "tfgan_app.gans.build",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'tfgan_app.gans' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
