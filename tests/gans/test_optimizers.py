"""TorchAdam (PyTorch's Adam update) and linear_decay (mimicry's schedule), against numpy."""
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans import optimizers
from tests import tiny_configs

RNG = np.random.default_rng(0)


def _torch_adam(w, grads, lr, beta_1, beta_2, epsilon):
  """numpy, in float64: torch.optim.Adam's single-tensor update (epsilon after the bias
  correction)."""
  m, v = np.zeros_like(w), np.zeros_like(w)
  for t, g in enumerate(grads, 1):
    m = m + (1 - beta_1) * (g - m)
    v = beta_2 * v + (1 - beta_2) * g * g
    w = w - lr / (1 - beta_1**t) * m / (np.sqrt(v) / np.sqrt(1 - beta_2**t) + epsilon)
  return w, m, v


def _run(optimizer, w0, grads):
  w = tf.Variable(w0)
  optimizer.build([w])
  for g in grads:
    optimizer.apply_gradients([(tf.constant(g), w)])
  return w.numpy()


@pytest.mark.parametrize("beta_1", [0.0, 0.5])
def test_torch_adam_is_pytorchs_update(beta_1):
  w0 = RNG.normal(size=[50]).astype(np.float32)
  # Gradients from 1e-9 (where epsilon's placement decides the step) to 1.
  grads = [(RNG.normal(size=[50]) * 10.0**RNG.uniform(-9, 0, size=[50])).astype(np.float32)
           for _ in range(4)]
  expected, m, v = _torch_adam(w0.astype(np.float64), grads, 2e-4, beta_1, 0.9, 1e-8)
  optimizer = optimizers.TorchAdam(learning_rate=2e-4, beta_1=beta_1, beta_2=0.9)
  np.testing.assert_allclose(_run(optimizer, w0, grads), expected, rtol=0, atol=1e-6)
  np.testing.assert_allclose(optimizer._momentums[0].numpy(), m, rtol=1e-5, atol=1e-20)
  np.testing.assert_allclose(optimizer._velocities[0].numpy(), v, rtol=1e-5, atol=1e-30)
  # Keras' Adam (epsilon before the bias correction) moves the small-gradient weights less.
  keras_adam = keras.optimizers.Adam(learning_rate=2e-4, beta_1=beta_1, beta_2=0.9,
                                     epsilon=1e-8)
  assert np.max(np.abs(_run(keras_adam, w0, grads) - expected)) > 1e-5


def test_torch_adam_with_beta_1_zero_takes_the_gradient_as_momentum_exactly():
  g = (RNG.normal(size=[20]) * 1e-3).astype(np.float32)
  optimizer = optimizers.TorchAdam(learning_rate=1e-3, beta_1=0.0, beta_2=0.9)
  _run(optimizer, np.zeros(20, np.float32), [g * 3, g])
  np.testing.assert_array_equal(optimizer._momentums[0].numpy(), g)


def test_torch_adam_checks_its_arguments():
  with pytest.raises(ValueError, match="TorchAdam.beta_2"):
    optimizers.TorchAdam(beta_2=1.0)


def test_linear_decay_follows_g_steps_to_zero():
  schedule = optimizers.LinearDecay(2e-4, updates_per_step=5, num_steps=4)
  rates = [float(schedule(tf.constant(i, tf.int64))) for i in range(25)]
  expected = [2e-4 * max(0.0, 1 - (i // 5) / 4) for i in range(25)]
  np.testing.assert_allclose(rates, expected, rtol=1e-15, atol=0)
  with pytest.raises(ValueError, match="linear_decay.num_steps"):
    optimizers.LinearDecay(2e-4, num_steps=0)


def test_gan_lr_schedule_gives_d_disc_iters_updates_per_g_step():
  gin.clear_config()
  gin.parse_config(tiny_configs.tiny_networks() + """
GAN.architecture = "dcgan"
GAN.disc_iters = 3
GAN.lr_schedule = @linear_decay
linear_decay.num_steps = 10
GAN.g_optimizer_fn = @TorchAdam
""")
  gan = gan_lib.GAN(image_shape=(32, 32, 1), num_classes=0)
  gin.clear_config()
  assert isinstance(gan.g_optimizer, optimizers.TorchAdam)
  assert isinstance(gan.d_optimizer, optimizers.TorchAdam)
  assert gan.d_optimizer._learning_rate.updates_per_step == 3
  assert gan.g_optimizer._learning_rate.updates_per_step == 1
  gan.d_optimizer.iterations.assign(7)  # G step 2.
  np.testing.assert_allclose(float(gan.d_optimizer.learning_rate), 2e-4 * 0.8, rtol=1e-7)
