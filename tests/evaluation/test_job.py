"""The evaluation job on real tf.train checkpoints with fake G / Inception / data."""

import glob
import math
import os
import tempfile

from absl import logging
import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan import runs
from compare_ssgan.evaluation import evaluator
from compare_ssgan.evaluation import job
from compare_ssgan.evaluation import results
from compare_ssgan.metrics import scores
from compare_ssgan.training import checkpoints
from tests import tiny_configs
from tests.training import helpers

N = 24


class FakeExtractor:
  batch_size = 8
  feature_id = "e" * 64

  def __init__(self, has_logits=True):
    self.has_logits = has_logits

  def __call__(self, images, **kwargs):
    del kwargs
    x = images.reshape(len(images), -1)[:, :5].astype(np.float64)
    out = {"pool_3": np.concatenate([x, np.cos(3 * x)], 1)}
    if self.has_logits:
      out["logits"] = 6 * x - 3
    return out


class ToyDataset:
  name = "toy"
  eval_split = "test"
  num_classes = 0

  def __init__(self, data_dir):
    self.data_dir = data_dir
    self.images = np.random.RandomState(0).rand(50, 3, 3, 1).astype(np.float32)

  def eval_dataset(self, num_examples, batch_size):
    for i in range(0, num_examples, batch_size):
      yield self.images[i:i + batch_size], None


class FakeSampler:
  """Deterministic in seed; brightness set by the checkpoint's variable."""

  def __init__(self, level):
    self.level = level

  def sample(self, num_examples, seed, batch_size):
    rng = np.random.RandomState(seed)
    for _ in range(0, num_examples, batch_size):
      base = rng.rand(batch_size, 3, 3, 1).astype(np.float32)
      yield base * 0.5 + np.float32(self.level)


def restore_sampler(model_dir, checkpoint_path, use_ema):
  """Reads the checkpoint for real, like the trainer's load_sampler would."""
  del model_dir
  value = tf.Variable(0.0)
  checkpoints.restore(tf.train.Checkpoint(v=value), checkpoint_path,
                      partial=True)
  return FakeSampler(value.numpy() + (0.2 if use_ema else 0.0))


class FakeRun(runs.TrainedRun):
  """The run in model_dir with G from `sampler_factory` and data from `dataset` where given
  (its gin config, D and everything else as runs.TrainedRun reads them)."""

  def __init__(self, model_dir, sampler_factory=None, dataset=None):
    super().__init__(model_dir)
    self.sampler_factory = sampler_factory
    self._dataset = dataset

  def dataset(self):
    return super().dataset() if self._dataset is None else self._dataset

  def load_sampler(self, checkpoint_path=None, use_ema=None, **standing_statistics):
    if self.sampler_factory is None:
      return super().load_sampler(checkpoint_path, use_ema, **standing_statistics)
    return self.sampler_factory(self.model_dir, checkpoint_path, use_ema)


class Trainer:
  """Writes checkpoints as the trainer does (CheckpointManager 'ckpt')."""

  def __init__(self, model_dir, max_to_keep=None):
    self.model_dir = model_dir
    self.level = tf.Variable(0.0)
    self.manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(v=self.level), model_dir, max_to_keep=max_to_keep,
        checkpoint_name=run_dir.CHECKPOINT_NAME)

  def save(self, step, level):
    self.level.assign(level)
    self.manager.save(checkpoint_number=step)

  def finish(self):
    run_dir.mark_training_done(self.model_dir)


@pytest.fixture(autouse=True)
def _small_kid_blocks():
  gin.bind_parameter("kid.block_size", 8)  # After conftest's clear_gin.


def _options(**kwargs):
  defaults = dict(num_samples=N, sample_batch_size=5, poll_interval_secs=0.0)
  defaults.update(kwargs)
  return evaluator.EvalOptions(**defaults)


def _fake_run(model_dir, sampler_factory=restore_sampler, dataset=None):
  return FakeRun(model_dir, sampler_factory,
                 dataset or ToyDataset(os.path.join(model_dir, "data")))


def _run(model_dir, options=None, extractor=None, **kwargs):
  run = _fake_run(model_dir, kwargs.pop("sampler_factory", restore_sampler))
  return job.run_continuous_eval(run, options=options or _options(),
                                 extractor=extractor or FakeExtractor(), **kwargs)


def _rows(model_dir, name="results.csv"):
  return results.ResultsFile(os.path.join(model_dir, "eval", name)).read()


def _features(model_dir, level, seed=42):
  ext = FakeExtractor()
  real = ext(ToyDataset(model_dir).images[:N])["pool_3"]
  fakes = np.concatenate(list(FakeSampler(level).sample(N, seed, 5)))[:N]
  return real, ext(fakes)["pool_3"]


def _expected_fid(model_dir, level, seed=42):
  return scores.frechet_distance_from_activations(*_features(model_dir, level, seed))


def test_scores_each_checkpoint_once_and_stops_when_training_is_done(tmp_path,
                                                                    monkeypatch):
  scratch = tmp_path / "scratch"  # Where KID's fake features go while a set is scored.
  scratch.mkdir()
  monkeypatch.setattr(tempfile, "tempdir", str(scratch))
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  trainer.save(100, 0.1)
  trainer.save(200, 0.3)
  trainer.finish()
  assert _run(model_dir) == [100, 200]
  assert not list(scratch.iterdir())
  rows = _rows(model_dir)
  kid_200 = [r for r in rows if r["step"] == 200 and r["metric"] == "kid"][0]
  real, fake = _features(model_dir, 0.3)  # KID reads float32 features back from disk.
  assert kid_200["value"] == pytest.approx(scores.kernel_inception_distance(
      real.astype(np.float32), fake.astype(np.float32), 8)[0], rel=1e-6)
  assert {(r["step"], r["metric"]) for r in rows} == {
      (s, m) for s in (100, 200)
      for m in ("fid", "inception_score", "kid", "kid_stderr")}
  fid_200 = [r for r in rows if r["step"] == 200 and r["metric"] == "fid"][0]
  assert fid_200["value"] == pytest.approx(_expected_fid(model_dir, 0.3),
                                           rel=1e-6)
  assert fid_200["n"] == N and fid_200["seed"] == 42
  assert fid_200["checkpoint"].endswith("ckpt-200")
  assert glob.glob(os.path.join(model_dir, "eval", "events.out.tfevents.*"))
  # Real statistics were cached next to the data.
  assert glob.glob(os.path.join(model_dir, "data", "compare_ssgan_stats",
                                "toy_test_first_24_3x3x1_*.npz"))

  # A restarted evaluator repeats nothing, then picks up a new checkpoint.
  assert _run(model_dir) == []
  trainer.save(300, 0.5)
  assert _run(model_dir) == [300]
  assert len(_rows(model_dir)) == 12


def test_follows_a_running_trainer_and_tolerates_deleted_checkpoints(tmp_path):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  plan = [[(10, 0.1)], [(20, 0.2), (30, 0.3)], [], [(40, 0.4)], "done"]

  def trainer_step(seconds):
    del seconds
    if plan:
      action = plan.pop(0)
      if action == "done":
        trainer.finish()
      for step, level in action if action != "done" else []:
        trainer.save(step, level)

  def deleting_factory(model_dir_, prefix, use_ema):
    if prefix.endswith("ckpt-30"):  # Retention removes it under our feet.
      for path in glob.glob(prefix + ".*"):
        os.remove(path)
    return restore_sampler(model_dir_, prefix, use_ema)

  evaluated = _run(model_dir, sleep=trainer_step,
                   sampler_factory=deleting_factory)
  assert evaluated == [10, 20, 40]
  assert sorted({r["step"] for r in _rows(model_dir)}) == [10, 20, 40]


def test_nan_generator_gives_nan_rows_not_a_crash(tmp_path):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  trainer.save(1, math.nan)
  trainer.save(2, 0.2)
  trainer.finish()
  logged = []
  original = logging.warning
  try:
    logging.warning = lambda msg, *a: logged.append(msg % a)
    assert _run(model_dir) == [1, 2]
  finally:
    logging.warning = original
  rows = _rows(model_dir)
  assert all(math.isnan(r["value"]) for r in rows if r["step"] == 1)
  assert not any(math.isnan(r["value"]) for r in rows if r["step"] == 2)
  assert any("not finite" in m for m in logged)


def test_repeats_use_consecutive_seeds_and_add_mean_std(tmp_path):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  trainer.save(5, 0.25)
  trainer.finish()
  _run(model_dir, options=_options(repeats=3, metrics=("fid",)))
  rows = _rows(model_dir)
  fids = [r for r in rows if r["metric"] == "fid"]
  assert [r["seed"] for r in fids] == [42, 43, 44]
  assert [r["repeat"] for r in fids] == [0, 1, 2]
  for r in fids:
    assert r["value"] == pytest.approx(
        _expected_fid(model_dir, 0.25, r["seed"]), rel=1e-6)
  agg = {r["metric"]: r["value"] for r in rows if r["repeat"] is None}
  values = [r["value"] for r in fids]
  assert agg == pytest.approx({"fid_mean": np.mean(values),
                               "fid_std": np.std(values)})
  assert len(set(values)) == 3


def test_timeout_without_checkpoints(tmp_path):
  now = [0.0]

  def sleep(seconds):
    now[0] += seconds

  evaluated = _run(str(tmp_path / "run"),
                   options=_options(timeout_secs=10, poll_interval_secs=4),
                   sleep=sleep, clock=lambda: now[0])
  assert evaluated == [] and now[0] == 12


def test_ema_and_raw_rows_share_one_file_and_jsonl_without_logits(tmp_path):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  trainer.save(7, 0.1)
  trainer.finish()
  for use_ema, level in ((True, 0.3), (False, 0.1)):
    # Each generator of a step is scored once; the other one is not "done".
    assert _run(model_dir, options=_options(use_ema=use_ema,
                                            results_format="jsonl"),
                extractor=FakeExtractor(has_logits=False)) == [7]
    rows = [r for r in _rows(model_dir, "results.jsonl")
            if r["use_ema"] == use_ema]
    assert {r["metric"] for r in rows} == {"fid", "kid", "kid_stderr"}
    fid = [r for r in rows if r["metric"] == "fid"][0]["value"]
    assert fid == pytest.approx(_expected_fid(model_dir, level), rel=1e-6)
  assert _run(model_dir, options=_options(use_ema=False,
                                          results_format="jsonl")) == []
  for summaries in ("eval", os.path.join("eval", "ema")):
    assert glob.glob(os.path.join(model_dir, summaries, "events.out.*"))


def test_default_scores_the_ema_generator_when_the_run_has_one(tmp_path):
  model_dir = str(tmp_path / "run")
  trainer = helpers.make_trainer(
      model_dir, "Trainer.training_steps = 2\nGAN.g_use_ema = True\n"
      "ema.decay = 0.5\nema.start_step = 1")
  trainer.train()
  samplers = []

  def recording_factory(model_dir_, checkpoint, use_ema):
    samplers.append(runs.TrainedRun(model_dir_).load_sampler(checkpoint, use_ema))
    return samplers[-1]

  run = FakeRun(model_dir, recording_factory, ToyDataset(str(tmp_path / "data")))
  kwargs = dict(extractor=FakeExtractor())
  for use_ema, scored in ((None, trainer.gan.ema_generator),
                          (False, trainer.gan.generator)):
    rows = job.run_eval(run, options=_options(metrics=("fid",), use_ema=use_ema),
                        **kwargs)
    assert [r["use_ema"] for r in rows] == [scored is trainer.gan.ema_generator]
    for a, b in zip(helpers.weights(samplers[-1].generator),
                    helpers.weights(scored)):
      np.testing.assert_array_equal(a, b)
  assert not all(np.array_equal(a, b) for a, b in zip(
      helpers.weights(trainer.gan.generator),
      helpers.weights(trainer.gan.ema_generator)))
  assert [r["use_ema"] for r in _rows(model_dir)] == [True, False]
  gin.bind_parameter("GAN.g_use_ema", False)
  with pytest.raises(ValueError, match="no EMA generator"):
    job.run_eval(run, options=_options(use_ema=True), rescore=True, **kwargs)


def test_probe_rows_at_every_checkpoint_inception_ones_every_k_steps(tmp_path):
  model_dir = str(tmp_path / "run")
  trainer = helpers.make_trainer(
      model_dir, tiny_configs.tiny_networks() + "Trainer.training_steps = 4\n"
      "probe.num_train = 40\nprobe.num_test = 20\nprobe.batch_size = 16\n")
  trainer.train()  # Checkpoints at steps 0, 2 and 4 (the final one).
  options = _options(metrics=("fid", "probe"), inception_metrics_every_steps=3,
                     real_stats_dir=str(tmp_path / "stats"))
  assert job.run_continuous_eval(runs.TrainedRun(model_dir), options=options,
                                 extractor=FakeExtractor()) == [0, 2, 4]
  rows = _rows(model_dir)
  probe_names = ["probe_top1_block1", "probe_top1_block2", "probe_top1_block3"]
  counts = ["probe_num_train", "probe_num_test"]  # The probe's own sample counts.
  assert [(r["step"], r["metric"]) for r in rows] == [
      (step, name) for step in (0, 2, 4)
      for name in (["fid"] + probe_names + counts if step == 4 else probe_names + counts)]
  assert all(0.0 <= r["value"] <= 1.0 for r in rows if r["metric"] in probe_names)
  assert {(r["metric"], r["value"]) for r in rows if r["metric"] in counts} == {
      ("probe_num_train", 40), ("probe_num_test", 20)}
  assert [evaluator.fake_tasks_due(step, options, final_step=10)
          for step in (0, 3, 4, 6, 10)] == [False, True, False, True, True]
  for step in (0, 2, 4):  # One set of rows per checkpoint.
    assert len({results.row_set_key(r) for r in rows if r["step"] == step}) == 1
  discriminator, step = runs.TrainedRun(model_dir).load_discriminator()
  assert step == 4
  for a, b in zip(helpers.weights(discriminator),
                  helpers.weights(trainer.gan.discriminator)):
    np.testing.assert_array_equal(a, b)
  with pytest.raises(ValueError, match="'toy' has no labels"):
    job.run_eval(FakeRun(model_dir, dataset=ToyDataset(str(tmp_path / "data"))),
                 options=_options(metrics=("probe",)))


def test_run_eval_scores_one_checkpoint_into_the_results_file(tmp_path,
                                                              capsys):
  model_dir = str(tmp_path / "run")
  run = _fake_run(model_dir, dataset=ToyDataset(str(tmp_path / "data")))
  with pytest.raises(FileNotFoundError, match="No ckpt"):
    job.run_eval(run, options=_options())
  trainer = Trainer(model_dir)
  trainer.save(3, 0.1)
  trainer.save(4, 0.4)
  kwargs = dict(options=_options(metrics=("fid",)), extractor=FakeExtractor())
  rows = job.run_eval(run, **kwargs)
  assert [(r["step"], r["metric"]) for r in rows] == [(4, "fid")]
  assert "fid" in capsys.readouterr().out
  rows = job.run_eval(run, os.path.join(model_dir, "ckpt-3"), **kwargs)
  assert rows[0]["value"] == pytest.approx(_expected_fid(model_dir, 0.1),
                                           rel=1e-6)
  assert [(r["step"], r["metric"]) for r in _rows(model_dir)] == [
      (4, "fid"), (3, "fid")]
  with pytest.raises(FileNotFoundError):
    job.run_eval(run, os.path.join(model_dir, "ckpt-9"), **kwargs)
  other = str(tmp_path / "other")
  Trainer(other).save(5, 0.5)
  with pytest.raises(ValueError, match="not in model_dir"):
    job.run_eval(run, os.path.join(other, "ckpt-5"), **kwargs)


def test_one_set_of_rows_per_checkpoint_whichever_mode_wrote_it(tmp_path,
                                                                capsys):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  trainer.save(1, 0.1)
  trainer.save(2, 0.2)
  trainer.finish()
  run = _fake_run(model_dir, dataset=ToyDataset(str(tmp_path / "data")))
  kwargs = dict(options=_options(metrics=("fid",)), extractor=FakeExtractor())
  first = job.run_eval(run, **kwargs)  # The latest: step 2.
  assert _run(model_dir, options=kwargs["options"]) == [1]
  ckpt_1 = os.path.join(model_dir, "ckpt-1")
  scored_1 = _rows(model_dir)[1:]
  for _ in range(2):  # Already scored: printed, not written again.
    capsys.readouterr()
    assert job.run_eval(run, ckpt_1, **kwargs) == scored_1
    assert "fid" in capsys.readouterr().out
  assert job.run_eval(run, **kwargs) == first
  assert [(r["step"], r["metric"]) for r in _rows(model_dir)] == [
      (2, "fid"), (1, "fid")]
  # Another protocol (n) is another set of rows.
  other = dict(kwargs, options=_options(metrics=("fid",), num_samples=N - 4))
  job.run_eval(run, **other)
  assert len(_rows(model_dir)) == 3
  # So is a named protocol with the same n, and its rows say so.
  named = dict(kwargs, options=_options(metrics=("fid",), protocol="named_protocol"))
  assert job.run_eval(run, **named)[0]["protocol"] == "named_protocol"
  assert [r["protocol"] for r in _rows(model_dir)] == ["custom"] * 3 + ["named_protocol"]
  assert {r["resize"] for r in _rows(model_dir)} == {"compare_gan"}

  rescored = job.run_eval(run, ckpt_1, rescore=True, **kwargs)
  rows = _rows(model_dir)
  assert len(rows) == 4 and rows[-1] == rescored[0]
  assert rescored[0]["wall_time"] > scored_1[0]["wall_time"]
  assert rescored[0]["value"] == pytest.approx(_expected_fid(model_dir, 0.1),
                                               rel=1e-6)


def test_a_corrupt_checkpoint_is_recorded_once_and_skipped(tmp_path,
                                                         monkeypatch):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  for step, level in ((10, 0.1), (20, 0.2), (30, 0.3)):
    trainer.save(step, level)
  trainer.finish()
  corrupt = os.path.join(model_dir, "ckpt-20")
  for data in glob.glob(corrupt + ".data-*"):
    with open(data, "wb"):  # Truncated to nothing.
      pass
  warnings = []
  monkeypatch.setattr(logging, "warning",
                      lambda msg, *a: warnings.append(msg % a))
  restored = []

  def counting_factory(*args):
    restored.append(run_dir.step_of(args[1]))
    return restore_sampler(*args)

  with pytest.raises(job.EvaluationIncomplete,
                     match=r"incomplete: step 20: .*cannot be restored") as raised:
    _run(model_dir, sampler_factory=counting_factory)
  assert raised.value.evaluated == [10, 30]
  assert {r["step"] for r in _rows(model_dir)} == {10, 30}
  [failure] = results.FailureLog(run_dir.eval_failures_path(model_dir)).read()
  assert (failure["step"], failure["use_ema"]) == (20, False)
  assert failure["checkpoint"] == corrupt and "cannot be restored" in failure[
      "reason"]
  assert any(corrupt in w and "cannot be restored" in w for w in warnings)
  # A restarted evaluator does not try it again.
  restored.clear()
  with pytest.raises(job.EvaluationIncomplete, match="step 20") as raised:
    _run(model_dir, sampler_factory=counting_factory)
  assert raised.value.evaluated == [] and not restored
  run = _fake_run(model_dir, dataset=ToyDataset(str(tmp_path / "data")))
  kwargs = dict(options=_options(), extractor=FakeExtractor())
  with pytest.raises(checkpoints.CheckpointError, match="failed earlier"):
    job.run_eval(run, corrupt, **kwargs)
  # Rescoring retries it; once it is good again, its failure is forgotten.
  trainer.save(20, 0.2)
  assert job.run_eval(run, corrupt, rescore=True, **kwargs)
  assert not results.FailureLog(run_dir.eval_failures_path(model_dir)).read()
  assert {r["step"] for r in _rows(model_dir)} == {10, 20, 30}
  assert _run(model_dir) == []  # Complete now: no error.


def test_the_final_checkpoint_unrestorable_is_an_error_after_the_others(tmp_path):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  trainer.save(10, 0.1)
  trainer.save(20, 0.2)
  trainer.finish()
  for data in glob.glob(os.path.join(model_dir, "ckpt-20.data-*")):
    with open(data, "wb"):
      pass
  with pytest.raises(job.EvaluationIncomplete, match="step 20") as raised:
    _run(model_dir)
  assert raised.value.evaluated == [10]


@pytest.mark.parametrize("name, text, message", [
    ("results.csv", "step,metric\n1,fid\n", "is damaged or not a results file"),
    ("results.csv", ",".join(results.FIELDS) + "\n5,fid,1.0,24,42,,False,1.0,2.0,c,custom,compare_gan\n"
     "6,fid,1.0,24\n", r"results.csv, line 3: field 'seed' is None"),
    ("failures.jsonl", "{not json\n", r"failures.jsonl, line 1: not JSON"),
    ("failures.jsonl", '{"step": 3}\n', r"failures.jsonl, line 1: expected a record"),
])
def test_a_damaged_state_file_is_refused_before_any_work(tmp_path, name, text, message):
  model_dir = str(tmp_path / "run")
  trainer = Trainer(model_dir)
  trainer.save(10, 0.1)
  trainer.finish()
  os.makedirs(os.path.join(model_dir, "eval"))
  with open(os.path.join(model_dir, "eval", name), "w") as f:
    f.write(text)
  scored = []

  def recording_factory(*args):
    scored.append(args)
    return restore_sampler(*args)

  with pytest.raises(results.DamagedFileError, match=message):
    _run(model_dir, sampler_factory=recording_factory)
  assert not scored  # Nothing was sampled, so no work was thrown away.
  with open(os.path.join(model_dir, "eval", name)) as f:
    assert f.read() == text  # And nothing was lost.


def test_waits_for_the_run_config_then_gives_up(tmp_path, monkeypatch):
  now = [0.0]
  waits = []
  monkeypatch.setattr(logging, "info", lambda msg, *a: waits.append(msg % a))

  def sleep(seconds):
    now[0] += seconds

  missing = str(tmp_path / "mistyped")
  with pytest.raises(TimeoutError, match=r"config.gin after waiting 25 s \(the "
                     "directory does not exist\): is --model_dir right"):
    runs.parse_run_config(missing, wait_secs=25, sleep=sleep, clock=lambda: now[0])
  assert now[0] == 25 and len(waits) == 3
  assert all("directory does not exist" in w for w in waits)

  # A run being created: its directory first, then its config.
  model_dir = tmp_path / "run"
  creation = [lambda: model_dir.mkdir(),
              lambda: (model_dir / "config.gin").write_text("GAN.z_dim = 7")]

  def trainer_starting(seconds):
    sleep(seconds)
    creation.pop(0)()

  waits.clear()
  runs.parse_run_config(str(model_dir), wait_secs=25, sleep=trainer_starting,
                        clock=lambda: now[0])
  assert gin.query_parameter("GAN.z_dim") == 7
  assert ["does not exist" in w for w in waits] == [True, False]
  with pytest.raises(FileNotFoundError, match="not a compare_ssgan run"):
    runs.parse_run_config(missing)


def test_options_are_gin_configurable_and_validated():
  gin.parse_config("""
      evaluation.num_samples = 3000
      evaluation.repeats = 3
      evaluation.metrics = ["fid"]
  """)
  options = evaluator.EvalOptions()
  assert (options.num_samples, options.repeats, tuple(options.metrics)) == (
      3000, 3, ("fid",))
  with pytest.raises(ValueError, match="Unknown metrics"):
    evaluator.EvalOptions(metrics=("fid", "precision"))
  assert evaluator.EvalOptions(metrics=("probe",)).metrics == ("probe",)
  for bad in (0, 2.0):
    with pytest.raises((ValueError, TypeError),
                       match="evaluation.inception_metrics_every_steps"):
      evaluator.EvalOptions(inception_metrics_every_steps=bad)
  assert evaluator.EvalOptions().use_ema is None  # The run's GAN.g_use_ema.
  for bad in ("yes", 1):
    with pytest.raises(ValueError, match=f"evaluation.use_ema .* got {bad!r}"):
      evaluator.EvalOptions(use_ema=bad)


@pytest.mark.parametrize("text, where", [
    ("GAN.z_dim = 7\nTrainer.batch_size = (64\n", "line 2, column 22: '\\(' is not closed"),
    ("GAN.z_dim = 7\nTrainer.batch_size = = 64\n", "line 2"),
])
def test_a_run_config_that_does_not_parse_is_named(tmp_path, text, where):
  model_dir = tmp_path / "run"
  model_dir.mkdir()
  (model_dir / "config.gin").write_text(text)
  with pytest.raises(ValueError, match=f"cannot be parsed: .*run/config.gin: .*{where}"):
    runs.parse_run_config(str(model_dir))


def test_a_run_config_binding_a_moved_knob_is_read_under_its_new_name(tmp_path, caplog):
  model_dir = tmp_path / "run"
  model_dir.mkdir()
  (model_dir / "config.gin").write_text(
      "evaluation.num_samples = 30\nevaluation.kid_block_size = 10\n"
      "evaluation.inception_score_splits = 10\n")
  runs.parse_run_config(str(model_dir))
  assert gin.query_parameter("kid.block_size") == 10
  assert gin.query_parameter("inception_score.splits") == 10
  assert "binds evaluation.kid_block_size, now kid.block_size" in caplog.text
