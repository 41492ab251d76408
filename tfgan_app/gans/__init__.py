"""GAN families, one ``keras.Model`` subclass each, and ``build_model`` to make one from a config.

- ``GAN``: Goodfellow et al.'s algorithm with the stabilisers (base of the next two)
- ``ConditionalGAN``: G(z, y), D(x, y)
- ``InfoGAN``: latent codes recovered by an auxiliary head
- ``Pix2Pix``: paired image-to-image translation
- ``CycleGAN``: unpaired image-to-image translation

Applications, each with its own ``train_step``:
- ``RestorationGAN`` (``restoration``): SRGAN super-resolution and context-encoder inpainting
- ``DANN``, ``ADDA`` (``domain_adaptation``): adversarial domain adaptation
- ``EGBAD`` (``anomaly``): BiGAN-based anomaly detection
- ``SequenceGAN`` (``sequence``): recurrent GAN for time series
"""

from tfgan_app.gans.build import build_model, make_optimizer
from tfgan_app.gans.conditional import ConditionalGAN
from tfgan_app.gans.cyclegan import CycleGAN
from tfgan_app.gans.gan import GAN
from tfgan_app.gans.infogan import InfoGAN
from tfgan_app.gans.pix2pix import Pix2Pix
from tfgan_app.gans.anomaly import EGBAD
from tfgan_app.gans.domain_adaptation import ADDA, DANN
from tfgan_app.gans.restoration import RestorationGAN
from tfgan_app.gans.sequence import SequenceGAN

__all__ = [
    "GAN", "ConditionalGAN", "InfoGAN", "Pix2Pix", "CycleGAN", "RestorationGAN", "DANN", "ADDA", "EGBAD",
    "SequenceGAN", "build_model", "make_optimizer",
]
