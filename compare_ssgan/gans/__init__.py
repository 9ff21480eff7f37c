"""A GAN composed of G + D + loss + penalty + auxiliary terms, and the pieces it is made of."""
# Every module with gin configurables, so that importing the package registers them.
# pylint: disable=unused-import
from compare_ssgan.gans import augmentations
from compare_ssgan.gans import ema
from compare_ssgan.gans import gan
from compare_ssgan.gans import latents
from compare_ssgan.gans import losses
from compare_ssgan.gans import optimizers
from compare_ssgan.gans import penalties
from compare_ssgan.gans import simclr_augmentations
from compare_ssgan.gans import simgan
from compare_ssgan.gans import terms
