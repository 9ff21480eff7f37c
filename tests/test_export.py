"""The exported SavedModel runs without compare_ssgan and matches the checkpoint's G."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from compare_ssgan import export
from compare_ssgan import run_dir
from compare_ssgan.metrics import compare
from compare_ssgan.training import restore
from tests.training import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a fresh interpreter in which `import compare_ssgan` fails.
_LOAD_WITHOUT_COMPARE_SSGAN = """
import sys
sys.modules["compare_ssgan"] = None
import numpy as np, tensorflow as tf
export_dir, z_path, labels_path, out_path = sys.argv[1:]
generator = tf.saved_model.load(export_dir).signatures["serving_default"]
inputs = {"z": tf.constant(np.load(z_path))}
if labels_path != "-":
  inputs["labels"] = tf.constant(np.load(labels_path))
np.save(out_path, generator(**inputs)["images"].numpy())
"""


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
  """A 2-step conditional run whose EMA generator differs from its raw one."""
  model_dir = str(tmp_path_factory.mktemp("export") / "run")
  helpers.make_trainer(model_dir, "Trainer.training_steps = 2\nGAN.g_use_ema = True\n"
                       "ema.decay = 0.5\nema.start_step = 1\nGAN.conditional = True\n"
                       "eval/z.truncation = 0.5\nevaluation.num_samples = 10").train()
  return model_dir


def _expected(model_dir, z, labels, use_ema):
  sampler = restore.load_sampler(model_dir, use_ema=use_ema)
  return sampler.generator(z, labels, training=False).numpy()


def test_saved_model_runs_without_compare_ssgan_and_matches_the_ema_generator(
    ema_run, tmp_path):
  restore.parse_run_config(ema_run)
  export_dir = export.export(ema_run)
  assert export_dir == run_dir.export_path(ema_run, 2)
  with open(os.path.join(export_dir, export.METADATA)) as f:
    metadata = json.load(f)
  expected = {"step": 2, "use_ema": True, "z_dim": 16, "z_distribution": "uniform",
              "z_truncation": 0.5, "z_latent_terms": [], "num_classes": 10,
              "conditional": True, "resolution": [32, 32], "channels": 1}
  assert {k: metadata[k] for k in expected} == expected
  assert "GAN.g_use_ema = True" in metadata["gin_config"]
  rng = np.random.RandomState(0)
  z = rng.uniform(-1, 1, [5, 16]).astype(np.float32)
  labels = rng.randint(0, 10, [5]).astype(np.int32)
  np.save(tmp_path / "z.npy", z)
  np.save(tmp_path / "labels.npy", labels)
  subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_COMPARE_SSGAN, export_dir, "z.npy",
                  "labels.npy", "out.npy"], cwd=tmp_path, check=True)
  served = np.load(tmp_path / "out.npy")
  assert served.shape == (5, 32, 32, 1)
  np.testing.assert_allclose(served, _expected(ema_run, z, labels, True), atol=1e-6)
  assert np.abs(served - _expected(ema_run, z, labels, False)).max() > 1e-5
  with pytest.raises(FileExistsError, match="export/2"):
    export.export(ema_run)
  assert export.export(ema_run, overwrite=True) == export_dir


def test_sample_npz_is_seeded_and_equal_from_the_export_and_the_checkpoint(
    ema_run, tmp_path):
  restore.parse_run_config(ema_run)
  export_dir = export.export(ema_run, str(tmp_path / "exported"))
  images, labels = export.sample(export_dir, 5, seed=3, batch_size=2)
  assert images.dtype == np.float32 and images.shape == (5, 32, 32, 1)
  assert images.min() >= 0 and images.max() <= 1
  assert labels.dtype == np.int32 and labels.shape == (5,)
  again, again_labels = export.sample(ema_run, 5, seed=3, batch_size=2)
  np.testing.assert_allclose(again, images, atol=1e-6)
  np.testing.assert_array_equal(again_labels, labels)
  assert not np.allclose(export.sample(export_dir, 5, seed=4)[0], images)
  path = str(tmp_path / "fakes.npz")
  # From the model_dir, in a process that has imported no evaluation code before it parses
  # the run's config.gin (which binds evaluation.*).
  subprocess.run([sys.executable, "-m", "compare_ssgan.sample", f"--source={ema_run}",
                  "--num=5", "--seed=3", "--batch_size=2", f"--out={path}"],
                 cwd=ROOT, check=True)
  with np.load(path) as written:
    np.testing.assert_allclose(written["images"], images, atol=1e-6)
    np.testing.assert_array_equal(written["labels"], labels)
  count, batches = compare.image_set(path, batch_size=4)
  assert count == 5 and sum(len(b) for b in batches) == 5


def test_refuses_a_missing_or_half_written_model_dir(tmp_path):
  missing = str(tmp_path / "missing")
  with pytest.raises(FileNotFoundError, match="missing"):
    export.load(missing)
  # Started, and crashed while writing its first checkpoint.
  half_written = str(tmp_path / "half_written")
  run_dir.write_atomically(run_dir.config_path(half_written), "")
  os.makedirs(run_dir.checkpoint_prefix(half_written, 2) + "_temp")
  run_dir.write_atomically(run_dir.checkpoint_state_path(half_written),
                           'model_checkpoint_path: "ckpt-2"\n')
  with pytest.raises(FileNotFoundError, match="No checkpoint in .*half_written"):
    export.load(half_written)


def test_sample_refuses_z_with_infogan_codes_it_cannot_draw(tmp_path):
  model_dir = str(tmp_path / "run")
  helpers.make_trainer(model_dir, "Trainer.training_steps = 2\n"
                       "GAN.auxiliary_terms = [@infogan()]\n"
                       "infogan.categorical_dims = (4,)\ninfogan.num_continuous = 0").train()
  with pytest.raises(NotImplementedError, match="infogan"):
    export.sample(model_dir, 2)


def test_sample_refuses_an_out_path_that_is_neither_npz_nor_a_directory(tmp_path):
  out = subprocess.run([sys.executable, "-m", "compare_ssgan.sample", f"--source={tmp_path}",
                        "--num=2", f"--out={tmp_path}/fakes.npy"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, check=False)
  assert out.returncode != 0
  assert "fakes.npy: expected a .npz file or a directory" in out.stderr
  assert not (tmp_path / "fakes.npy").exists()
