"""Exact trainable-parameter counts of the full-width models (compare_gan's)."""

import numpy as np

from compare_ssgan.architectures import resnet_biggan
from compare_ssgan.architectures import resnet_cifar
from compare_ssgan.architectures import sndcgan


def _count(model, trainable=True):
  model.build_variables()
  weights = model.trainable_weights if trainable else (
      model.non_trainable_weights)
  return sum(int(np.prod(v.shape)) for v in weights)


def test_resnet_cifar():
  assert _count(resnet_cifar.Generator((32, 32, 3), batch_norm="none")) == (
      5_846_019)
  assert _count(resnet_cifar.Generator(
      (32, 32, 3), batch_norm="batch_norm")) == 5_849_603
  assert _count(resnet_cifar.Discriminator((32, 32, 3))) == 1_483_137
  # Spectral norm adds only non-trainable u vectors ("left": kh*kw*cin).
  d = resnet_cifar.Discriminator((32, 32, 3), spectral_norm=True)
  assert _count(d) == 1_483_137
  assert _count(d, trainable=False) == 2 * 27 + 10 * 1152 + 128


def test_sndcgan():
  assert _count(sndcgan.Generator((32, 32, 3), batch_norm="none")) == (
      3_811_459)
  assert _count(sndcgan.Discriminator((32, 32, 3))) == 5_860_865


def test_resnet_biggan_128_conditional():
  # compare_gan's resnet_biggan_test: 1000 classes, z_dim 120, cBN in G,
  # projection D; trainable variables only (BN moving stats excluded).
  g = resnet_biggan.Generator((128, 128, 3), z_dim=120, num_classes=1000,
                              batch_norm="conditional_batch_norm")
  assert _count(g) == 70_433_988
  d = resnet_biggan.Discriminator((128, 128, 3), num_classes=1000)
  assert _count(d) == 87_982_370
