"""Loop options: XLA compilation, mixed precision, EMA generator, multi-D-step loops."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.training import helpers


@pytest.fixture(autouse=True)
def reset_policy():
  yield
  keras.mixed_precision.set_global_policy("float32")


def _train(tmp_path, bindings):
  trainer = helpers.make_trainer(tmp_path, "Trainer.training_steps = 2\n" + bindings)
  scalars = trainer.train()
  assert np.isfinite([scalars["d_loss"], scalars["g_loss"]]).all(), scalars
  return trainer


def test_xla_compiled_step_with_disc_iters_and_penalty(tmp_path):
  trainer = _train(tmp_path, "Trainer.jit_compile = True\nGAN.disc_iters = 2\n"
                   "GAN.penalty_fn = @wgangp_penalty\nGAN.penalty_weight = 10.0")
  assert trainer.gan.d_optimizer.iterations.numpy() == 4  # 2 G steps x 2 D steps
  assert trainer.gan.g_optimizer.iterations.numpy() == 2


def test_mixed_bfloat16_keeps_float32_losses_and_weights(tmp_path):
  trainer = _train(tmp_path, "Trainer.mixed_precision = 'mixed_bfloat16'")
  assert trainer.gan.generator.compute_dtype == "bfloat16"
  assert all(v.dtype == tf.float32 for v in trainer.gan.generator.trainable_variables)


def test_mixed_float16_uses_loss_scaling(tmp_path):
  trainer = _train(tmp_path, "Trainer.mixed_precision = 'mixed_float16'")
  assert isinstance(trainer.gan.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_ema_generator_is_checkpointed_and_averaged(tmp_path):
  trainer = _train(tmp_path, "GAN.g_use_ema = True\nema.decay = 0.5\nema.start_step = 1")
  names = [name for name, _ in tf.train.list_variables(str(tmp_path))]
  assert any(name.startswith("ema_generator/") for name in names)
  g, avg = trainer.gan.generator, trainer.gan.ema_generator
  assert any(not np.allclose(a.numpy(), b.numpy())
             for a, b in zip(g.trainable_variables, avg.trainable_variables))
