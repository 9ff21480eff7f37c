"""InfoGAN: codes in z, the Q head's mutual-information loss, the sample-grid layout."""
import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans.terms import infogan
from tests.gans import term_testing

RNG = np.random.default_rng(3)
SEED = tf.constant([1, 2], tf.int32)


def _term(**kwargs):
  kwargs.setdefault("categorical_dims", (3, 2))
  kwargs.setdefault("num_continuous", 2)
  term = infogan.infogan(**kwargs)
  term.build_heads(term_testing.TinyDiscriminator(), term_testing.TinyGenerator(z_dim=12))
  return term


def test_codes_replace_the_tail_of_z():
  term = _term()
  z = tf.constant(RNG.uniform(-1, 1, size=[64, 12]).astype(np.float32))
  coded = term.transform_latents(z, SEED).numpy()
  np.testing.assert_array_equal(coded[:, :5], z.numpy()[:, :5])
  categorical_a, categorical_b, continuous = coded[:, 5:8], coded[:, 8:10], coded[:, 10:]
  for one_hot in (categorical_a, categorical_b):
    np.testing.assert_array_equal(one_hot.sum(1), 1.0)
    assert set(np.unique(one_hot)) == {0.0, 1.0}
    assert len(np.unique(one_hot.argmax(1))) == one_hot.shape[1]  # All categories drawn.
  assert np.abs(continuous).max() <= 1.0 and continuous.std() > 0.3


def test_mutual_information_loss_matches_numpy():
  term = _term(weight=0.5, continuous_weight=0.1)
  features = RNG.normal(size=[6, 4]).astype(np.float32)
  z = term.transform_latents(tf.zeros([6, 12]), SEED)
  loss, metrics = term.mutual_information_loss(tf.constant(features), z)
  hidden = features @ term.hidden.kernel.numpy() + term.hidden.bias.numpy()
  hidden = np.where(hidden > 0, hidden, 0.1 * hidden)
  q = hidden @ term.output_layer.kernel.numpy() + term.output_layer.bias.numpy()
  codes = z.numpy()[:, 5:]
  ce = sum(term_testing.softmax_cross_entropy(q[:, a:b], codes[:, a:b].argmax(1))
           for a, b in ((0, 3), (3, 5)))
  nll = np.mean(np.sum(0.5 * (codes[:, 5:] - q[:, 5:]) ** 2, axis=1))
  np.testing.assert_allclose(metrics["info_categorical_loss"], ce, rtol=1e-5)
  np.testing.assert_allclose(metrics["info_continuous_loss"], nll, rtol=1e-5)
  np.testing.assert_allclose(loss, 0.5 * (ce + 0.1 * nll), rtol=1e-5)
  accuracy = np.mean([q[:, 0:3].argmax(1) == codes[:, 0:3].argmax(1),
                      q[:, 3:5].argmax(1) == codes[:, 3:5].argmax(1)])
  np.testing.assert_allclose(metrics["info_categorical_accuracy"], accuracy)


def test_both_steps_minimise_the_same_loss_and_it_reaches_g_and_q():
  generator = term_testing.TinyGenerator(z_dim=12)
  term = _term()
  z = term.transform_latents(tf.constant(RNG.uniform(-1, 1, size=[8, 12]), tf.float32), SEED)
  with tf.GradientTape(persistent=True) as tape:
    ctx = term_testing.make_context(generator(z), generator(z), z=z, generator=generator,
                                    terms=[term])
    (g_loss, _), _ = term_testing.run_g_step(ctx)
    (d_loss, _), _ = term_testing.run_d_step(ctx)
  np.testing.assert_allclose(g_loss, d_loss, rtol=1e-6)
  assert np.any(tape.gradient(g_loss, generator.kernel).numpy())
  q_grads = tape.gradient(d_loss, term.trainable_variables)
  assert len(q_grads) == 4 and all(np.any(g.numpy()) for g in q_grads)
  assert term.optimizer == "discriminator"  # Q trains with D; G's own optimizer trains G.


def test_rows_layout_under_the_eval_scope_gives_one_category_per_grid_row():
  gin.parse_config("eval/infogan_codes.layout = 'rows'")
  term = _term(categorical_dims=(10,), num_continuous=1)
  with gin.config_scope("eval"):
    coded = term.transform_latents(tf.zeros([64, 12]), SEED).numpy()
  np.testing.assert_array_equal(coded[:, 1:11].argmax(1), (np.arange(64) // 8) % 10)
  np.testing.assert_array_equal(coded[:, 11], 0.0)
  random = term.transform_latents(tf.zeros([64, 12]), SEED).numpy()  # Outside the scope.
  assert not np.array_equal(random[:, 1:11].argmax(1), (np.arange(64) // 8) % 10)


def test_bad_settings_are_named():
  with pytest.raises(ValueError, match="at least one"):
    infogan.infogan(categorical_dims=(), num_continuous=0)
  with pytest.raises(ValueError, match=r"infogan.categorical_dims\[0\] must be an integer >= 2"):
    infogan.infogan(categorical_dims=(1,))
  term = infogan.infogan(categorical_dims=(10,), num_continuous=2)
  with pytest.raises(ValueError, match="z_dim=12 leaves no noise"):
    term.build_heads(term_testing.TinyDiscriminator(), term_testing.TinyGenerator(z_dim=12))
  with pytest.raises(ValueError, match="layout"):
    infogan.sample_codes(4, SEED, (3,), 0, layout="columns")
