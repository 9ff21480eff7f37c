"""Two training steps of every architecture x {Uncond-GAN, Cond-GAN} on mock CIFAR-10.

Widths are reduced through gin (the full-width parameter counts are checked in
tests/architectures/test_param_counts.py); everything else is the real code path.
"""
import numpy as np
import pytest
import tensorflow_datasets as tfds

from compare_ssgan.architectures import registry
from tests import tiny_configs
from tests.training import helpers

# Self-attention (B3 in G, B1 in D) needs C/8 >= 1: BigGAN at ch 4.
NARROW = tiny_configs.tiny_networks(resnet_biggan=4)
EXTRA = {
    "resnet_stl": "dataset.resolution = 48\ndataset.resize_method = 'resize'",
    "resnet_biggan": ("resnet_biggan.Generator.embed_y_dim = 8\n"
                      "dataset.resolution = 64\ndataset.resize_method = 'resize'\n"
                      "resnet_biggan.Generator.blocks_with_attention = 'B3'\n"
                      "resnet_biggan.Discriminator.blocks_with_attention = 'B1'"),
}
CONDITIONAL = {
    False: "",
    True: "GAN.conditional = True\nG.batch_norm = 'conditional_batch_norm'\n{arch}"
          ".Discriminator.project_y = True",
}


def test_every_registered_architecture_has_a_tiny_width():
  """Else the two steps below would train a new architecture at full width."""
  assert sorted(tiny_configs.TINY_WIDTHS) == sorted(registry.ARCHITECTURES)


@pytest.mark.slow
@pytest.mark.parametrize("conditional", [False, True], ids=["uncond", "cond"])
@pytest.mark.parametrize("architecture", sorted(registry.ARCHITECTURES))
def test_two_steps_without_nan(tmp_path, architecture, conditional):
  bindings = "\n".join([
      "dataset.name = 'cifar10'", f"GAN.architecture = '{architecture}'",
      "GAN.z_dim = 20" if architecture == "resnet_biggan" else "",
      "Trainer.training_steps = 2", "Trainer.batch_size = 4", "D.spectral_norm = True",
      NARROW, EXTRA.get(architecture, ""),
      CONDITIONAL[conditional].format(arch=architecture)])
  with tfds.testing.mock_data(num_examples=16):
    trainer = helpers.make_trainer(tmp_path, bindings)
    scalars = trainer.train()
  assert int(trainer.step.numpy()) == 2
  assert trainer.gan.conditional == conditional
  assert np.isfinite([scalars["d_loss"], scalars["g_loss"]]).all(), scalars
