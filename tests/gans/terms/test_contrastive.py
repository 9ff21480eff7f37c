"""NT-Xent against a plain numpy implementation; the Cntr-GAN term; 2 replicas vs 1."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans.terms import contrastive
from tests import multi_replica
from tests.gans import term_testing

RNG = np.random.default_rng(2)


def numpy_nt_xent(view1, view2, temperature):
  """CS231n's SimCLR loss: 2N views [view1; view2], positives (k, k + N), loop form."""
  z = np.concatenate([view1, view2]).astype(np.float64)
  # tf.math.l2_normalize's epsilon: a zero embedding stays zero instead of NaN.
  z /= np.sqrt(np.maximum(np.sum(z * z, axis=1, keepdims=True), 1e-12))
  n = len(view1)
  total, correct = 0.0, 0
  for k in range(2 * n):
    positive = (k + n) % (2 * n)
    similarity = z @ z[k] / temperature
    others = [j for j in range(2 * n) if j != k]
    total += -np.log(np.exp(similarity[positive]) / np.exp(similarity[others]).sum())
    correct += others[int(np.argmax(similarity[others]))] == positive
  return total / (2 * n), correct / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_nt_xent_matches_numpy(temperature):
  view1 = RNG.normal(size=[5, 7]).astype(np.float32)
  view2 = (view1 + RNG.normal(scale=1.5, size=[5, 7])).astype(np.float32)
  loss, accuracy = contrastive.nt_xent(tf.constant(view1), tf.constant(view2), temperature)
  expected_loss, expected_accuracy = numpy_nt_xent(view1, view2, temperature)
  np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
  np.testing.assert_allclose(accuracy, expected_accuracy)
  assert 0 < expected_accuracy < 1  # The accuracy check is not trivial.


def test_two_replicas_equal_one_device_on_the_global_batch():
  """NT-Xent (negatives gathered across replicas), its gradients, the augmentations."""
  result = multi_replica.run_check("tests.gans.multi_replica_check")
  np.testing.assert_allclose(*result["loss"], rtol=1e-5)
  np.testing.assert_allclose(*result["accuracy"], rtol=1e-6)
  assert result["accuracy"][0] > 0
  # Input gradients (through the all-gather), then the two augmentations' outputs.
  assert max(result["max_diffs"]) < 1e-5, result
  # compare_gan's rotated_batch_size is global: 8 = 4 x 2 sources on 1 replica, 4 x 1 on 2.
  assert result["rotated_sources_per_replica"] == [2, 1]


def _term(**kwargs):
  term = contrastive.contrastive(**kwargs)
  term.build_heads(term_testing.TinyDiscriminator(), None)
  return term


def test_term_is_weight_times_nt_xent_of_the_heads_embeddings_of_two_views():
  keras.utils.set_random_seed(0)  # The head's initial weights.
  reals = tf.constant(RNG.uniform(size=[6, 8, 8, 1]).astype(np.float32))
  fakes = tf.constant(RNG.uniform(size=[6, 8, 8, 1]).astype(np.float32))
  term = _term(weight=0.3, temperature=0.2)
  ctx = term_testing.make_context(reals, fakes, terms=[term])
  (loss, metrics), _ = term_testing.run_d_step(ctx)
  images = ctx.gan.discriminator.seen["images"].numpy()  # real, fake, then 4 views.
  expected = {}
  for index, side in enumerate(("real", "fake")):
    views = []
    for view in range(2):
      start = 12 + 6 * (2 * index + view)
      features = term_testing.quadrant_means(images[start:start + 6])
      hidden = np.maximum(features @ term.head.hidden.kernel.numpy()
                          + term.head.hidden.bias.numpy(), 0.0)
      views.append(hidden @ term.head.output_layer.kernel.numpy()
                   + term.head.output_layer.bias.numpy())
    expected[side] = numpy_nt_xent(*views, 0.2)
  np.testing.assert_allclose(metrics["contrastive_real_loss"], expected["real"][0], rtol=1e-4)
  np.testing.assert_allclose(metrics["contrastive_fake_loss"], expected["fake"][0], rtol=1e-4)
  np.testing.assert_allclose(metrics["contrastive_accuracy"], expected["real"][1])
  np.testing.assert_allclose(loss, 0.3 * (expected["real"][0] + expected["fake"][0]),
                             rtol=1e-4)
  assert not np.allclose(images[12:18], images[18:24])  # Two different views.
  assert set(metrics) == set(term.metric_names)


def test_head_is_an_mlp_owned_by_d_with_simclr_defaults():
  term = _term()
  assert term.optimizer == "discriminator"
  assert (term.temperature, term.output_dim, term.weight) == (0.5, 128, 1.0)
  assert term.head.hidden.kernel.shape == (4, 4)  # Hidden width = D's feature size.
  assert term.head.output_layer.kernel.shape == (4, 128)
  assert len(term.trainable_variables) == 4
  with pytest.raises(ValueError, match="contrastive.temperature must be a finite number > 0"):
    contrastive.contrastive(temperature=0.0)


def test_reals_only_is_nt_xent_of_the_reals_views_and_fakes_skip_the_contrastive_call():
  keras.utils.set_random_seed(0)  # The head's initial weights.
  reals = tf.constant(RNG.uniform(size=[6, 8, 8, 1]).astype(np.float32))
  fakes = tf.constant(RNG.uniform(size=[6, 8, 8, 1]).astype(np.float32))
  term = _term(weight=0.3, temperature=0.2, include_fakes=False)
  ctx = term_testing.make_context(reals, fakes, terms=[term])
  (loss, metrics), outputs = term_testing.run_d_step(ctx)
  assert list(outputs) == ["real", "fake", "contrastive_real_1", "contrastive_real_2"]
  images = ctx.gan.discriminator.seen["images"].numpy()  # real, fake, then 2 real views.
  assert images.shape[0] == 24
  views = []
  for start in (12, 18):
    features = term_testing.quadrant_means(images[start:start + 6])
    hidden = np.maximum(features @ term.head.hidden.kernel.numpy()
                        + term.head.hidden.bias.numpy(), 0.0)
    views.append(hidden @ term.head.output_layer.kernel.numpy()
                 + term.head.output_layer.bias.numpy())
  expected_loss, expected_accuracy = numpy_nt_xent(*views, 0.2)
  np.testing.assert_allclose(loss, 0.3 * expected_loss, rtol=1e-4)
  np.testing.assert_allclose(metrics["contrastive_real_loss"], expected_loss, rtol=1e-4)
  np.testing.assert_allclose(metrics["contrastive_accuracy"], expected_accuracy)
  assert set(metrics) == set(term.metric_names) == {"contrastive_real_loss",
                                                    "contrastive_accuracy"}
  (g_loss, g_metrics), g_outputs = term_testing.run_g_step(ctx)
  assert (float(g_loss), g_metrics, list(g_outputs)) == (0.0, {}, ["fake"])


def test_include_fakes_must_be_a_bool():
  with pytest.raises(TypeError, match=r"contrastive.include_fakes must be True or False; "
                                      r"got 'no'"):
    contrastive.contrastive(include_fakes="no")
