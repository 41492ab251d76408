"""GAN families, one module each, found by ``registry`` from their ``FAMILIES`` declarations.

- ``gan``: ``GAN``, Goodfellow et al.'s algorithm with the stabilisers (base of the next ones)
- ``conditional``: ``ConditionalGAN``, G(z, y), D(x, y)
- ``infogan``: ``InfoGAN``, latent codes recovered by an auxiliary head
- ``sequence``: ``SequenceGAN``, recurrent networks for time series
- ``pix2pix``: ``Pix2Pix``, paired image-to-image translation
- ``cyclegan``: ``CycleGAN``, unpaired image-to-image translation
- ``restoration``: ``RestorationGAN``, SRGAN super-resolution and context-encoder inpainting
- ``domain_adaptation``: ``DANN``, ``ADDA``
- ``anomaly``: ``EGBAD``, BiGAN-based anomaly detection
- ``template``: the smallest complete family, the starting point for a new one

``base`` holds the interface every family model implements and the shared machinery
(optimizer steps with loss scaling, EMA, regulariser hooks); ``build.build_model`` makes a
family's compiled model from a config.
"""

from tfgan_app.gans.anomaly import EGBAD
from tfgan_app.gans.base import AdversarialModel, ExponentialMovingAverage, optimizer_step
from tfgan_app.gans.build import build_model, make_optimizer
from tfgan_app.gans.conditional import ConditionalGAN
from tfgan_app.gans.cyclegan import CycleGAN
from tfgan_app.gans.domain_adaptation import ADDA, DANN
from tfgan_app.gans.gan import GAN
from tfgan_app.gans.infogan import InfoGAN
from tfgan_app.gans.pix2pix import Pix2Pix
from tfgan_app.gans.registry import Family, families, get_family
from tfgan_app.gans.restoration import RestorationGAN
from tfgan_app.gans.sequence import SequenceGAN

__all__ = [
    "GAN", "ConditionalGAN", "InfoGAN", "Pix2Pix", "CycleGAN", "RestorationGAN", "DANN", "ADDA", "EGBAD",
    "SequenceGAN", "AdversarialModel", "ExponentialMovingAverage", "optimizer_step", "Family", "families",
    "get_family", "build_model", "make_optimizer",
]
