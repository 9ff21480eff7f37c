"""Exports and sampling: the SavedModel runs without compare_ssgan and matches the
checkpoint's G; the evaluator, --mode=sample and an export draw the same fakes for a seed."""
import json
import os
import re
import subprocess
import sys

import gin
import numpy as np
import pytest
from absl import app

from compare_ssgan import export
from compare_ssgan import main
from compare_ssgan import run_dir
from compare_ssgan import runs
from compare_ssgan.architectures import normalization
from compare_ssgan.evaluation import evaluator
from compare_ssgan.evaluation import job
from compare_ssgan.gans import latents
from compare_ssgan.metrics import image_sets
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
  sampler = runs.TrainedRun(model_dir).load_sampler(use_ema=use_ema)
  return sampler.generator(z, labels, training=False).numpy()


def test_saved_model_runs_without_compare_ssgan_and_matches_the_ema_generator(
    ema_run, tmp_path):
  runs.parse_run_config(ema_run)
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


class RecordingExtractor:
  """Records the images the evaluator extracts features of."""
  batch_size = 8
  feature_id = "r" * 64

  def __init__(self):
    self.images = []

  def __call__(self, images, **kwargs):
    del kwargs
    self.images.append(np.array(images))
    flat = images.reshape(len(images), -1)[:, :6].astype(np.float64)
    return {"pool_3": np.concatenate([flat, np.sin(5 * flat)], 1)}


def _sample_mode(tmp_path, out, *source_and_flags):
  """Runs `main --mode=sample` in a fresh process; returns the .npz's (images, labels)."""
  path = str(tmp_path / out)
  subprocess.run([sys.executable, "-m", "compare_ssgan.main", "--mode=sample",
                  *source_and_flags, f"--sample_out={path}"], cwd=ROOT, check=True)
  with np.load(path) as written:
    return written["images"], written["labels"]


def test_the_evaluator_the_sample_mode_and_an_export_draw_the_same_fakes(ema_run, tmp_path):
  runs.parse_run_config(ema_run)
  gin.parse_config("evaluation.sample_batch_size = 2\nevaluation.seed = 3\n"
                   "evaluation.num_samples = 5\nevaluation.metrics = ['fid']")
  extractor = RecordingExtractor()
  job.run_eval(runs.TrainedRun(ema_run), extractor=extractor, rescore=True,
               options=evaluator.EvalOptions(real_stats_dir=str(tmp_path / "stats")))
  scored = np.concatenate(extractor.images)[-5:]  # The reals come first, then the fakes.
  export_dir = export.export(ema_run, str(tmp_path / "exported"))

  from_run, run_labels = _sample_mode(
      tmp_path, "run.npz", f"--model_dir={ema_run}", "--num_samples=5", "--sample_seed=3",
      "--gin_bindings=evaluation.sample_batch_size = 2")
  from_export, export_labels = _sample_mode(
      tmp_path, "export.npz", f"--export_dir={export_dir}", "--num_samples=5",
      "--sample_seed=3")
  assert from_run.shape == (5, 32, 32, 1) and run_labels.shape == (5,)
  np.testing.assert_allclose(from_run, scored, atol=1e-6)
  np.testing.assert_allclose(from_export, scored, atol=1e-6)
  np.testing.assert_array_equal(export_labels, run_labels)
  # The check can fail: another seed, or another batching of the draws, gives other fakes.
  other_seed, _ = export.sample(export_dir, 5, seed=4)
  other_batches, _ = export.sample(export_dir, 5, seed=3, batch_size=5)
  assert np.abs(other_seed - scored).max() > 1e-3
  assert np.abs(other_batches - scored).max() > 1e-3
  count, batches = image_sets.image_set(str(tmp_path / "run.npz"), batch_size=4)
  assert count == 5 and sum(len(b) for b in batches) == 5


def test_standing_statistics_reach_the_evaluator_the_sample_mode_and_an_export(ema_run,
                                                                                 tmp_path):
  runs.parse_run_config(ema_run)
  bindings = ("evaluation.sample_batch_size = 2", "evaluation.seed = 3",
              "evaluation.standing_statistics_batches = 3")
  gin.parse_config("\n".join(bindings) + "\nevaluation.num_samples = 5\n"
                   "evaluation.metrics = ['fid']")
  extractor = RecordingExtractor()
  job.run_eval(runs.TrainedRun(ema_run), extractor=extractor, rescore=True,
               options=evaluator.EvalOptions(real_stats_dir=str(tmp_path / "stats")))
  scored = np.concatenate(extractor.images)[-5:]
  export_dir = export.export(ema_run, str(tmp_path / "exported"))
  assert export.load(export_dir)[1]["standing_statistics_batches"] == 3
  from_run, _ = _sample_mode(tmp_path, "run.npz", f"--model_dir={ema_run}",
                             "--num_samples=5", "--sample_seed=3",
                             *(f"--gin_bindings={b}" for b in bindings))
  from_export, _ = export.sample(export_dir, 5, seed=3)
  np.testing.assert_allclose(from_run, scored, atol=1e-6)
  np.testing.assert_allclose(from_export, scored, atol=1e-6)
  # The EMA G's moments are its standing statistics: those of normalization's own
  # accumulation over the same latents, not the raw G's copied averages.
  sampler = runs.TrainedRun(ema_run).load_sampler(
      use_ema=True, standing_statistics_batches=3, batch_size=2, seed=3)
  plain = runs.TrainedRun(ema_run).load_sampler(use_ema=True)
  batches = latents.seeded_latents(plain.prior, 6, 3, 2,
                                   stream=latents.STANDING_STATISTICS_STREAM)
  normalization.standing_statistics(plain.generator, (
      (plain.gan.transform_latents(z, s), y) for s, z, y in batches))
  copied = runs.TrainedRun(ema_run).load_sampler(use_ema=True)
  for ours, expected, raw in zip(_moments(sampler), _moments(plain), _moments(copied)):
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(ours - raw).max() > 1e-4
  # Control: without them the same draws give other fakes.
  without = np.concatenate(list(copied.sample(5, seed=3, batch_size=2)))
  assert np.abs(without - scored).max() > 1e-3


def _moments(sampler):
  return [v.numpy() for v in sampler.generator.non_trainable_variables
          if "moving_" in v.path]


def test_refuses_a_missing_export_or_a_half_written_model_dir(tmp_path):
  missing = str(tmp_path / "missing")
  with pytest.raises(FileNotFoundError, match="missing.* is not an export"):
    export.load(missing)
  # Started, and crashed while writing its first checkpoint.
  half_written = str(tmp_path / "half_written")
  run_dir.write_atomically(run_dir.config_path(half_written), "")
  os.makedirs(run_dir.checkpoint_prefix(half_written, 2) + "_temp")
  run_dir.write_atomically(run_dir.checkpoint_state_path(half_written),
                           'model_checkpoint_path: "ckpt-2"\n')
  with pytest.raises(FileNotFoundError, match="No checkpoint in .*half_written"):
    runs.TrainedRun(half_written).load_sampler()


def test_an_export_refuses_to_sample_z_with_infogan_codes_the_run_can(tmp_path):
  model_dir = str(tmp_path / "run")
  helpers.make_trainer(model_dir, "Trainer.training_steps = 2\n"
                       "GAN.auxiliary_terms = [@infogan()]\n"
                       "infogan.categorical_dims = (4,)\ninfogan.num_continuous = 0").train()
  export_dir = export.export(model_dir)
  with pytest.raises(NotImplementedError, match="infogan"):
    export.sample(export_dir, 2)
  images = np.concatenate(list(runs.TrainedRun(model_dir).load_sampler().sample(3, seed=1)))
  assert images.shape == (3, 32, 32, 1)


@pytest.mark.parametrize("flags_, message", [
    (["--num_samples=2", "--sample_out={tmp}/f.npy"],
     "--sample_out={tmp}/f.npy: expected a .npz file or a directory"),
    (["--export_dir={tmp}", "--num_samples=2", "--sample_out={tmp}/f.npz"], "one source"),
    (["--num_samples=0", "--sample_out={tmp}/f.npz"], "--num_samples >= 1; got 0"),
    (["--num_samples=2", "--sample_seed=-1", "--sample_out={tmp}/f.npz"],
     "--sample_seed must be >= 0; got -1"),
    (["--num_samples=2", "--truncation=nan", "--sample_out={tmp}/f.npz"],
     "--truncation must be > 0; got nan")])
def test_the_sample_mode_refuses_bad_flags_before_any_work(tmp_path, flags_, message):
  main.FLAGS(["main", "--mode=sample", f"--model_dir={tmp_path}",
              *(f.format(tmp=tmp_path) for f in flags_)])
  try:
    with pytest.raises(app.UsageError, match=re.escape(message.format(tmp=tmp_path))):
      main.main(["main"])
  finally:
    main.FLAGS.unparse_flags()
  assert not os.listdir(tmp_path)


def test_export_dir_that_could_lose_data_is_refused_before_any_work(ema_run, tmp_path):
  runs.parse_run_config(ema_run)
  before = sorted(os.listdir(ema_run))
  a_file = tmp_path / "notes.txt"
  a_file.write_text("keep me")
  not_an_export = tmp_path / "data"
  not_an_export.mkdir()
  (not_an_export / "images.npz").write_text("keep me too")
  for export_dir, overwrite, message in (
      (ema_run, True, "is the run directory"),
      (os.path.dirname(ema_run), True, "or holds it"),
      (os.path.join(ema_run, "eval"), True, "lies inside the run directory"),
      (os.path.join(ema_run, "export"), True, "lies inside the run directory"),
      (str(a_file), True, "is a file"),
      (str(a_file), False, "is a file"),
      (str(not_an_export), True, "it is not an export"),
      (str(not_an_export), False, "exists and is not empty")):
    with pytest.raises((ValueError, FileExistsError), match=message):
      export.export(ema_run, export_dir, overwrite=overwrite)
  assert sorted(os.listdir(ema_run)) == before
  assert a_file.read_text() == "keep me"
  assert (not_an_export / "images.npz").read_text() == "keep me too"
  # A previous export is replaced, inside the run's export area or outside the run.
  outside = str(tmp_path / "exported")
  for export_dir in (os.path.join(ema_run, "export", "mine"), outside):
    export.export(ema_run, export_dir)
    assert export.export(ema_run, export_dir, overwrite=True) == export_dir
    assert export.is_export(export_dir)
