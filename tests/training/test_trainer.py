"""The training loop: resumption, NaN handling, outputs in model_dir, errors."""
import os
import shutil

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


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  """A run trained to step 2 (ckpt-0, ckpt-2); tests copy it rather than retrain."""
  model_dir = tmp_path_factory.mktemp("trained")
  helpers.make_trainer(model_dir, "Trainer.training_steps = 2").train()
  return model_dir


def _copy_run(trained_run, tmp_path):
  model_dir = tmp_path / "run"
  shutil.copytree(trained_run, model_dir)
  return model_dir


def _checkpoint_files(model_dir):
  return {p.name: p.stat().st_mtime_ns for p in model_dir.iterdir()
          if p.name.startswith("ckpt-")}


def test_damaged_checkpoint_state_resumes_from_the_newest_checkpoint(trained_run, tmp_path):
  model_dir = _copy_run(trained_run, tmp_path)
  files = _checkpoint_files(model_dir)
  for damage in ("garbage {{{", 'model_checkpoint_path: "ckpt-9"', None):
    state = model_dir / "checkpoint"
    if damage is None:
      state.unlink()
    else:
      state.write_text(damage)
    trainer = helpers.make_trainer(model_dir, "Trainer.training_steps = 2")
    trainer.train()
    assert int(trainer.step.numpy()) == 2, damage
    assert _checkpoint_files(model_dir) == files, damage  # Not retrained, not overwritten.
    assert tf.train.latest_checkpoint(str(model_dir)) == str(model_dir / "ckpt-2")
    assert trainer.manager.checkpoints == [str(model_dir / "ckpt-0"),
                                           str(model_dir / "ckpt-2")]


def test_resume_of_a_complete_run_writes_its_missing_sample_grid(trained_run, tmp_path):
  # As after a stop between the final checkpoint and the grid.
  model_dir = _copy_run(trained_run, tmp_path)
  (model_dir / "samples_00000002.png").unlink()
  (model_dir / "TRAIN_DONE").unlink()
  helpers.make_trainer(model_dir, "Trainer.training_steps = 2").train()
  assert (model_dir / "samples_00000002.png").exists()
  assert (model_dir / "TRAIN_DONE").exists()


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(
    trained_run, tmp_path, caplog):
  model_dir = _copy_run(trained_run, tmp_path)
  _truncate(model_dir, "ckpt-2")
  trainer = helpers.make_trainer(model_dir, "Trainer.training_steps = 2\n"
                                 "Trainer.keep_checkpoint_max = 1")
  real_run_loop = trainer.run_loop
  started_at = []

  def recording_run_loop(iterator, num_steps):
    started_at.append(int(trainer.step.numpy()))
    real_run_loop(iterator, num_steps)
  trainer.run_loop = recording_run_loop
  trainer.train()
  assert started_at == [0]
  assert any("Skipping checkpoint" in r.getMessage() and "ckpt-2" in r.getMessage()
             for r in caplog.records if r.levelname == "WARNING")
  assert trainer.manager.checkpoints == [str(model_dir / "ckpt-2")]  # Rewritten, sound.
  checkpoints.restore(trainer.checkpoint, str(model_dir / "ckpt-2"))


def test_no_restorable_checkpoint_refuses_to_start_over(trained_run, tmp_path):
  model_dir = _copy_run(trained_run, tmp_path)
  for prefix in ("ckpt-0", "ckpt-2"):
    _truncate(model_dir, prefix)
  before = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()}
  with pytest.raises(checkpoints.CheckpointError,
                     match=r"None of the checkpoints(.|\n)*move the ckpt-\* files"):
    helpers.make_trainer(model_dir, "Trainer.training_steps = 4").train()
  assert {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()} == before


def _truncate(model_dir, prefix):
  data_file = next(model_dir.glob(prefix + ".data-*"))
  data_file.write_bytes(data_file.read_bytes()[:100])


def test_restart_removes_its_stale_temporaries_only(trained_run, tmp_path):
  model_dir = _copy_run(trained_run, tmp_path)
  (model_dir / "ckpt-7_temp").mkdir()
  (model_dir / "ckpt-7_temp" / "part-00000-of-00001.index").write_text("partial")
  (model_dir / "config.gin.tmp-4242").write_text("partial")
  (model_dir / "notes.txt").write_text("mine")
  helpers.make_trainer(model_dir, "Trainer.training_steps = 2").train()
  names = set(os.listdir(model_dir))
  assert not {"ckpt-7_temp", "config.gin.tmp-4242"} & names
  assert "notes.txt" in names


def test_failed_save_names_the_directory_and_removes_its_partial_files(
    trained_run, tmp_path):
  model_dir = _copy_run(trained_run, tmp_path)
  trainer = helpers.make_trainer(model_dir, "Trainer.training_steps = 2")
  trainer.train()
  # A directory where the data file goes makes the save fail after writing its shards.
  (model_dir / "ckpt-7.data-00000-of-00001" / "blocker").mkdir(parents=True)
  with pytest.raises(checkpoints.CheckpointError, match=str(model_dir)):
    checkpoints.save(trainer.manager, 7)
  assert not (model_dir / "ckpt-7_temp").exists()
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
  with pytest.raises(KeyboardInterrupt) as interrupt:
    trainer.train()
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")
  assert interrupt.value.__notes__ == [
      f"at step 2; checkpoint written to {tmp_path / 'ckpt-2'}"]
  resumed = helpers.make_trainer(tmp_path, "Trainer.training_steps = 8")
  resumed.train()
  assert int(resumed.step.numpy()) == 8
