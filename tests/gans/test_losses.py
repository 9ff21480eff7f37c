"""Each adversarial loss against a hand computation on two logits per side."""
import math

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans import losses

REAL = np.array([[2.0], [-1.0]], np.float32)
FAKE = np.array([[0.5], [-3.0]], np.float32)


def softplus(x):
  return math.log1p(math.exp(x))


def sigmoid(x):
  return 1.0 / (1.0 + math.exp(-x))


def mean(values):
  return sum(values) / len(values)


def expected(name):
  r, f = REAL[:, 0].tolist(), FAKE[:, 0].tolist()
  if name == "non_saturating":
    d_real, d_fake = mean([softplus(-x) for x in r]), mean([softplus(x) for x in f])
    return d_real, d_fake, mean([softplus(-x) for x in f])
  if name == "minimax":
    d_real, d_fake = mean([softplus(-x) for x in r]), mean([softplus(x) for x in f])
    return d_real, d_fake, -d_fake
  if name == "hinge":
    return mean([max(0, 1 - x) for x in r]), mean([max(0, 1 + x) for x in f]), -mean(f)
  if name == "wasserstein":
    return -mean(r), mean(f), -mean(f)
  if name == "least_squares":
    return (0.5 * mean([(sigmoid(x) - 1) ** 2 for x in r]),
            0.5 * mean([sigmoid(x) ** 2 for x in f]),
            0.5 * mean([(sigmoid(x) - 1) ** 2 for x in f]))
  mr, mf = mean(r), mean(f)
  rr, fr = [x - mf for x in r], [x - mr for x in f]
  if name == "relativistic_average":
    return (mean([softplus(-x) for x in rr]), mean([softplus(x) for x in fr]),
            mean([softplus(x) for x in rr]) + mean([softplus(-x) for x in fr]))
  if name == "relativistic_average_least_squares":
    return (mean([(x - 1) ** 2 for x in rr]), mean([(x + 1) ** 2 for x in fr]),
            mean([(x + 1) ** 2 for x in rr]) + mean([(x - 1) ** 2 for x in fr]))
  raise KeyError(name)


@pytest.mark.parametrize("name", [
    "non_saturating", "minimax", "hinge", "wasserstein", "least_squares",
    "relativistic_average", "relativistic_average_least_squares"])
def test_loss_matches_hand_computation(name):
  out = getattr(losses, name)(tf.constant(REAL), tf.constant(FAKE))
  d_real, d_fake, g_loss = expected(name)
  np.testing.assert_allclose(out.d_real.numpy(), d_real, rtol=1e-6)
  np.testing.assert_allclose(out.d_fake.numpy(), d_fake, rtol=1e-6)
  np.testing.assert_allclose(out.d_loss.numpy(), d_real + d_fake, rtol=1e-6)
  np.testing.assert_allclose(out.g_loss.numpy(), g_loss, rtol=1e-6)


def test_only_relativistic_losses_need_real_logits_in_g_step():
  assert losses.uses_real_logits_in_g_step(losses.relativistic_average)
  assert losses.uses_real_logits_in_g_step(losses.relativistic_average_least_squares)
  assert not losses.uses_real_logits_in_g_step(losses.hinge)


def test_bad_logit_shape_is_named():
  with pytest.raises(ValueError, match=r"real_logits must have shape \[N, 1\] or \[N, patches\]"):
    losses.hinge(tf.zeros([4]), tf.zeros([4, 1]))


@pytest.mark.parametrize("name", [
    "non_saturating", "minimax", "hinge", "wasserstein", "least_squares",
    "relativistic_average", "relativistic_average_least_squares"])
def test_patch_logits_average_the_loss_of_each_patch_position(name):
  loss_fn = getattr(losses, name)
  real, fake = np.concatenate([REAL, FAKE], 1), np.concatenate([-FAKE, 2.0 * REAL], 1)
  out = loss_fn(tf.constant(real), tf.constant(fake))
  per_patch = [loss_fn(tf.constant(real[:, [p]]), tf.constant(fake[:, [p]])) for p in (0, 1)]
  for got, *patches in zip(out, *per_patch):
    np.testing.assert_allclose(got.numpy(), np.mean([p.numpy() for p in patches]), rtol=1e-6)
