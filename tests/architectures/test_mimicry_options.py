"""The architecture options that compute what torch-mimicry computes: the DBlock shortcut
after the in-place ReLU, BN's unbiased running variance and its two-pass moments (defaults
unchanged)."""
import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.architectures import normalization
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import resnet_blocks
from compare_ssgan.architectures import sngan_cifar

RNG = np.random.default_rng(0)


def _block(scale, shortcut_after_relu):
  block = resnet_blocks.ResNetBlock(
      4, 4, scale, lambda c, name: normalization.NoNorm(name=name),
      shortcut="identity_or_conv1x1", shortcut_after_relu=shortcut_after_relu)
  block(tf.zeros([1, 8, 8, 4]))  # Creates the variables.
  return block


@pytest.mark.parametrize("scale", ["none", "down"])
def test_shortcut_after_relu_adds_the_shortcut_of_relu_x(scale):
  x = tf.constant(RNG.normal(size=[2, 8, 8, 4]).astype(np.float32))
  default, mimicry = _block(scale, False), _block(scale, True)
  for theirs, ours in zip(default.variables, mimicry.variables):
    ours.assign(theirs)
  residual = default(x) - (x if scale == "none" else
                           ops.downsample(default.shortcut(x)))
  shortcut = (tf.nn.relu(x) if scale == "none" else
              ops.downsample(mimicry.shortcut(tf.nn.relu(x))))
  np.testing.assert_allclose(mimicry(x).numpy(), (residual + shortcut).numpy(), atol=1e-5)
  # x has negative values, so the two blocks differ.
  assert np.max(np.abs(mimicry(x).numpy() - default(x).numpy())) > 1e-3


def test_sngan_discriminator_option_reaches_blocks_2_to_4_only():
  gin.clear_config()
  d = sngan_cifar.Discriminator((32, 32, 3), ch=8, shortcut_after_relu=True)
  assert [b.shortcut_after_relu for b in d.blocks[1:]] == [True, True, True]
  assert not hasattr(d.blocks[0], "shortcut_after_relu")  # The optimized block has none.
  assert not any(b.shortcut_after_relu for b in
                 sngan_cifar.Discriminator((32, 32, 3), ch=8).blocks[1:])
  with pytest.raises(TypeError, match="shortcut_after_relu"):
    sngan_cifar.Discriminator((32, 32, 3), ch=8, shortcut_after_relu=1)


def test_unbiased_moving_variance_is_pytorchs_running_var():
  x = (RNG.normal(size=[6, 3, 3, 4]) * 3 + 2).astype(np.float32)
  unbiased = normalization.make_standardize_batch(unbiased_moving_variance=True)
  biased = normalization.make_standardize_batch()
  out_unbiased, out_biased = unbiased(x, training=True), biased(x, training=True)
  # The batch is normalised by the biased variance either way.
  np.testing.assert_array_equal(out_unbiased.numpy(), out_biased.numpy())
  np.testing.assert_allclose(unbiased.moving_variance.numpy(),
                             0.9 + 0.1 * x.var(axis=(0, 1, 2), ddof=1), rtol=1e-5)
  np.testing.assert_allclose(biased.moving_variance.numpy(),
                             0.9 + 0.1 * x.var(axis=(0, 1, 2)), rtol=1e-5)
  with pytest.raises(ValueError, match="at least 2 values per channel"):
    normalization.make_standardize_batch(unbiased_moving_variance=True)(
        x[:1, :1, :1], training=True)


def test_two_pass_moments_are_exact_where_one_pass_cancels():
  # A channel whose mean is large against its spread: E[x^2] - E[x]^2 loses the variance's
  # digits in fp32, E[(x - E[x])^2] keeps them (the float64 variance is the reference).
  x = (RNG.normal(size=[8, 4, 4, 2]) * [1.0, 0.01] + [0.0, 30.0]).astype(np.float32)
  exact = x.astype(np.float64).var(axis=(0, 1, 2))
  layers = {formula: normalization.make_standardize_batch(moments=formula, decay=0.0)
            for formula in normalization.MOMENTS}
  variance = {}
  for formula, layer in layers.items():
    layer(x, training=True)  # decay 0: the moving variance is the batch variance.
    variance[formula] = layer.moving_variance.numpy().astype(np.float64)
  np.testing.assert_allclose(variance["two_pass"], exact, rtol=1e-4)
  assert abs(variance["one_pass"][1] - exact[1]) > 100 * abs(variance["two_pass"][1] - exact[1])
  np.testing.assert_allclose(variance["one_pass"][0], exact[0], rtol=1e-4)  # Mean 0: equal.
  assert normalization.make_standardize_batch().moments == "one_pass"  # compare_gan's.
  with pytest.raises(ValueError, match="standardize_batch.moments.*'two_pass'"):
    normalization.make_standardize_batch(moments="welford")
