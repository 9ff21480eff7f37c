"""Exact trainable-parameter counts of the full-width models (compare_gan's, and
torch-mimicry's SNGAN-32 for sngan_cifar)."""

import gin
import numpy as np

from compare_ssgan.architectures import resnet_biggan
from compare_ssgan.architectures import resnet_cifar
from compare_ssgan.architectures import sndcgan
from compare_ssgan.architectures import sngan_cifar

# torch-mimicry 0.1.16's SNGANGenerator32 (with BN) and SNGANDiscriminator32.
MIMICRY_SNGAN32_G = 4_276_739
MIMICRY_SNGAN32_D = 1_053_825


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


def test_sngan_cifar_is_mimicrys_sngan32():
  assert _count(sngan_cifar.Generator((32, 32, 3))) == MIMICRY_SNGAN32_G
  assert _count(sngan_cifar.Generator((32, 32, 3), batch_norm="none")) == (
      MIMICRY_SNGAN32_G - 7 * 2 * 256)
  assert _count(sngan_cifar.Discriminator((32, 32, 3))) == MIMICRY_SNGAN32_D


def test_resnet_cifar_with_sngan_shortcuts_has_sngan_counts():
  # 1x1 instead of 3x3 shortcuts in G's up blocks and D's down blocks, none
  # (identity) in D's last two: compare_gan's net with SN-GAN's shortcuts.
  gin.bind_parameter("ResNetBlock.shortcut", "identity_or_conv1x1")
  assert _count(resnet_cifar.Generator((32, 32, 3))) == MIMICRY_SNGAN32_G
  assert _count(resnet_cifar.Discriminator((32, 32, 3))) == MIMICRY_SNGAN32_D


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
