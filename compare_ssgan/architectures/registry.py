"""Architecture registry: name -> (Generator, Discriminator)."""

from compare_ssgan.architectures import dcgan
from compare_ssgan.architectures import resnet_biggan
from compare_ssgan.architectures import resnet_cifar
from compare_ssgan.architectures import resnet_stl
from compare_ssgan.architectures import sndcgan
from compare_ssgan.architectures import sngan_cifar

ARCHITECTURES = {
    "dcgan": dcgan,
    "resnet_biggan": resnet_biggan,
    "resnet_cifar": resnet_cifar,
    "resnet_stl": resnet_stl,
    "sndcgan": sndcgan,
    "sngan_cifar": sngan_cifar,
}


def _module(architecture):
  if architecture not in ARCHITECTURES:
    raise ValueError(f"Unknown architecture {architecture!r}; known: "
                     f"{sorted(ARCHITECTURES)}.")
  return ARCHITECTURES[architecture]


def make_generator(architecture, image_shape, z_dim=128, num_classes=0):
  """Builds the named generator with all its variables created.

  Call it inside `strategy.scope()` when training with a tf.distribute
  strategy. The architecture is chosen in gin as `GAN.architecture`.
  """
  g = _module(architecture).Generator(image_shape, z_dim=z_dim,
                                      num_classes=num_classes)
  g.build_variables()
  return g


def make_discriminator(architecture, image_shape, num_classes=0):
  """Builds the named discriminator with all its variables created."""
  d = _module(architecture).Discriminator(image_shape,
                                          num_classes=num_classes)
  d.build_variables()
  return d
