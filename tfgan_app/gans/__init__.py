"""GAN training schemes, one ``keras.Model`` subclass each."""

from tfgan_app.gans.gan import GAN

__all__ = ["GAN"]
