"""Standing BN statistics (compare_gan's accumulators) replace G's moving averages."""
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan.architectures import normalization
from compare_ssgan.architectures import registry


class _TwoCores(keras.layers.Layer):
  """x -> BN core -> fixed linear map -> BN core: the second core sees the first's output."""

  def __init__(self, weights, **kwargs):
    super().__init__(**kwargs)
    self.first = normalization.make_standardize_batch(name="first")
    self.second = normalization.make_standardize_batch(name="second")
    self.weights_value = tf.constant(weights, tf.float32)

  def call(self, z, y=None, training=False):
    return self.second(self.first(z, training=training) @ self.weights_value,
                       training=training)


def _moments(x):
  return x.mean(axis=0), x.var(axis=0)


def test_each_core_averages_its_batch_moments_normalizing_with_the_average_so_far():
  rng = np.random.default_rng(0)
  weights = rng.normal(size=(5, 3))
  batches = [rng.normal(1.0 + t, 1.0 + 0.5 * t, size=(16, 5)).astype(np.float32)
             for t in range(4)]
  network = _TwoCores(weights)
  network(tf.constant(batches[0]), training=True)  # Builds; moves the averages off 0 / 1.
  assert normalization.standing_statistics(network, ((b, None) for b in batches)) == 2
  eps = network.first.epsilon
  acc = {"first": [0.0, 0.0], "second": [0.0, 0.0]}
  for t, x in enumerate(batches):  # compare_gan's accumulators, in float64 numpy.
    for name, moments in (("first", _moments(x.astype(np.float64))),):
      acc[name] = [(t * a + m) / (t + 1) for a, m in zip(acc[name], moments)]
    h = (x - acc["first"][0]) / np.sqrt(acc["first"][1] + eps) @ weights
    acc["second"] = [(t * a + m) / (t + 1) for a, m in zip(acc["second"], _moments(h))]
  for name in ("first", "second"):
    core = getattr(network, name)
    np.testing.assert_allclose(core.moving_mean, acc[name][0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(core.moving_variance, acc[name][1], rtol=1e-4, atol=1e-5)
    assert core.accumulated is None  # Back to plain inference.
  # Control: normalizing with each batch's own moments (training mode) gives the second core
  # other inputs, so other statistics.
  h = [(x - x.mean(0)) / np.sqrt(x.var(0) + eps) @ weights for x in batches]
  assert np.abs(np.mean([hh.mean(0) for hh in h], 0) - acc["second"][0]).max() > 1e-3


def test_a_generators_cores_end_with_the_moments_of_their_own_inputs():
  keras.utils.set_random_seed(0)
  generator = registry.make_generator("dcgan", (32, 32, 1))
  generator(tf.zeros([2, 128]), training=True)
  cores = [l for l in generator._flatten_layers() if  # pylint: disable=protected-access
           isinstance(l, normalization.StandardizeBatch)]
  assert cores
  seen = {id(c): [] for c in cores}
  for core in cores:  # Record what each core is given while accumulating.
    original = core.call
    def spy(x, training=False, core=core, original=original):
      seen[id(core)].append(_moments(np.asarray(x, np.float64).reshape(-1, x.shape[-1])))
      return original(x, training)
    core.call = spy
  rng = np.random.default_rng(1)
  batches = [(tf.constant(rng.uniform(-1, 1, (8, 128)), tf.float32), None) for _ in range(3)]
  normalization.standing_statistics(generator, batches)
  for core in cores:
    means, variances = zip(*seen[id(core)])
    assert len(means) == 3
    np.testing.assert_allclose(core.moving_mean, np.mean(means, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(core.moving_variance, np.mean(variances, 0), rtol=1e-4,
                               atol=1e-5)
