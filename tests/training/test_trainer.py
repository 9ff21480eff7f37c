"""The training loop: resumption, NaN handling, outputs in model_dir, errors."""
import os

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.training import checkpoints
from compare_ssgan.training import trainer as trainer_lib
from tests.training import helpers


def test_writes_checkpoints_config_summaries_grid_and_done(tmp_path):
  trainer = helpers.make_trainer(tmp_path, "Trainer.training_steps = 4")
  scalars = trainer.train()
  assert int(trainer.step.numpy()) == 4
  assert {"d_loss", "g_loss", "d_real_logits", "d_fake_logits"} <= set(scalars)
  names = set(os.listdir(tmp_path))
  assert {"checkpoint", "config.gin", "operative_config.gin", "TRAIN_DONE",
          "samples_00000004.png"} <= names
  steps = sorted(int(p.split("-")[-1]) for p in trainer.manager.checkpoints)
  assert steps == [0, 2, 4]
  assert any(n.startswith("events.out.tfevents") for n in names)
  assert "GAN.architecture = 'dcgan'" in (tmp_path / "operative_config.gin").read_text()


def test_stop_and_resume_equals_uninterrupted_run(tmp_path):
  bindings = "Trainer.deterministic = True\n"
  straight = helpers.make_trainer(tmp_path / "a", bindings + "Trainer.training_steps = 4")
  straight.train()
  first = helpers.make_trainer(tmp_path / "b", bindings + "Trainer.training_steps = 2")
  first.train()
  resumed = helpers.make_trainer(tmp_path / "b", bindings + "Trainer.training_steps = 4")
  resumed.train()
  assert int(resumed.step.numpy()) == 4
  for a, b in zip(helpers.weights(straight.gan.generator),
                  helpers.weights(resumed.gan.generator)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  for a, b in zip(helpers.weights(straight.gan.discriminator),
                  helpers.weights(resumed.gan.discriminator)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_nan_loss_stops_with_a_clear_error_and_keeps_last_checkpoint(tmp_path):
  trainer = helpers.make_trainer(
      tmp_path, "Trainer.training_steps = 4\nGAN.d_lr = 1e30\nGAN.g_lr = 1e30\n"
      "keras.optimizers.Adam.epsilon = 1e-30")
  with pytest.raises(trainer_lib.NonFiniteLossError, match="step 2"):
    trainer.train()
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-0")
  assert not (tmp_path / "TRAIN_DONE").exists()


def test_corrupt_checkpoint_is_named_and_left_alone(tmp_path):
  helpers.make_trainer(tmp_path, "Trainer.training_steps = 2").train()
  data_file = next(p for p in tmp_path.iterdir() if p.name.startswith("ckpt-2.data"))
  data_file.write_bytes(data_file.read_bytes()[:100])
  size = data_file.stat().st_size
  with pytest.raises(checkpoints.CheckpointError, match="ckpt-2"):
    helpers.make_trainer(tmp_path, "Trainer.training_steps = 4").train()
  assert data_file.stat().st_size == size


def test_unwritable_model_dir_names_the_directory(tmp_path):
  trainer = helpers.make_trainer(tmp_path, "Trainer.training_steps = 2")
  trainer.manager._directory = "/proc/compare_ssgan_cannot_write_here"  # pylint: disable=protected-access
  with pytest.raises(checkpoints.CheckpointError, match="compare_ssgan_cannot_write_here"):
    checkpoints.save(trainer.manager, 0)


def test_conditional_gan_on_unlabelled_data_fails_early(tmp_path):
  with pytest.raises(ValueError, match="labelled dataset"):
    helpers.make_trainer(tmp_path, "dataset.name = 'npz'\nGAN.conditional = True\n"
                         f"dataset.data_dir = '{_unlabelled_npz(tmp_path)}'")


def _unlabelled_npz(tmp_path):
  path = tmp_path / "unlabelled.npz"
  np.savez(path, images=np.zeros([16, 32, 32, 1], np.uint8))
  return path


def test_interrupt_saves_the_current_step_then_resumes(tmp_path, monkeypatch):
  trainer = helpers.make_trainer(tmp_path, "Trainer.training_steps = 8\n"
                                 "Trainer.save_checkpoints_steps = 100")
  real_run_loop = trainer.run_loop
  calls = []

  def interrupted_on_second_loop(iterator, num_steps):
    calls.append(num_steps)
    if len(calls) == 2:
      raise KeyboardInterrupt("preempted")
    real_run_loop(iterator, num_steps)
  monkeypatch.setattr(trainer, "run_loop", interrupted_on_second_loop)
  with pytest.raises(KeyboardInterrupt):
    trainer.train()
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")
  resumed = helpers.make_trainer(tmp_path, "Trainer.training_steps = 8")
  resumed.train()
  assert int(resumed.step.numpy()) == 8
