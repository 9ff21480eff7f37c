"""The forgetting experiment: balanced one-vs-all batches, its flags, a tiny run end to end."""
import csv
import json

from absl import app
from absl import flags
import gin
import numpy as np
import pytest

from compare_ssgan.experiments import forgetting
from compare_ssgan.gans import randomness
from tests import tiny_configs


def test_batches_are_half_class_k_half_the_other_classes_interleaved():
  rng = np.random.default_rng(0)
  # Unequal classes in a shuffled order; each image holds its own example id.
  labels = rng.permutation(np.repeat(np.arange(4), [5, 9, 3, 7])).astype(np.int32)
  images = np.arange(len(labels), dtype=np.float32).reshape(-1, 1, 1, 1)
  batches = forgetting.OneVsAllBatches(images, labels, num_classes=4)
  for task in range(4):
    seen_negative_classes, seen_positive_ids = set(), set()
    for step in range(40):
      images_k, targets, batch_labels = (t.numpy() for t in batches.batch(
          task, 8, randomness.fold_in(np.array([1, 2], np.int32), step)))
      ids = images_k.reshape(-1).astype(int)
      np.testing.assert_array_equal(labels[ids], batch_labels)  # Images match labels.
      np.testing.assert_array_equal(targets, [1, 0] * 4)
      np.testing.assert_array_equal(batch_labels[0::2], task)
      assert np.all(batch_labels[1::2] != task)
      seen_negative_classes.update(batch_labels[1::2].tolist())
      seen_positive_ids.update(ids[0::2].tolist())
    # The rest is sampled from below and above class k's block, and all of class k is used.
    assert seen_negative_classes == set(range(4)) - {task}
    assert seen_positive_ids == set(np.flatnonzero(labels == task).tolist())


def test_eval_set_is_every_positive_and_as_many_negatives():
  labels = np.array([2, 0, 1, 2, 0, 0, 1, 2, 1, 1])
  indices = forgetting.balanced_eval_indices(labels, 2)
  np.testing.assert_array_equal(indices, [0, 3, 7, 1, 2, 4])


@pytest.mark.parametrize("args, message", [
    (["--batch_size=6"], "--batch_size=6: must be a multiple of 4"),
    (["--iterations_per_task=10", "--eval_every=3"], "--eval_every must divide"),
    (["--dataset=mnist_typo"], "--dataset=mnist_typo: value should be one of"),
    (["--architecture=resnet"], "--architecture=resnet: value should be one of")])
def test_bad_flags_are_named(args, message):
  flag_values = flags.FlagValues()
  forgetting.define_flags(flag_values)
  with pytest.raises(flags.IllegalFlagValueError, match=message):
    flag_values(["forgetting", "--out=x", *args])


@pytest.mark.slow
def test_tiny_run_writes_csv_png_and_json(tmp_path):
  gin.parse_config(tiny_configs.tiny_networks())
  summary = forgetting.run(str(tmp_path), "fashion_mnist_embedded", None, "dcgan",
                           iterations_per_task=4, cycles=1, eval_every=2, batch_size=8,
                           seed=0)
  with open(tmp_path / forgetting.CSV_NAME) as f:
    rows = list(csv.DictReader(f))
  for variant in forgetting.VARIANTS:
    got = [(int(r["iteration"]), int(r["task"])) for r in rows if r["variant"] == variant]
    # Ten tasks of 4 iterations, measured after iterations 2 and 4 of each.
    assert got == [(it, (it - 1) // 4) for it in range(2, 41, 2)]
  assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows)
  assert len(rows) == 40
  with open(tmp_path / forgetting.PNG_NAME, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  with open(tmp_path / forgetting.JSON_NAME) as f:
    assert json.load(f) == summary
  by_variant = summary["summary"]
  assert set(by_variant) == set(forgetting.VARIANTS)
  for variant in forgetting.VARIANTS:
    accuracies = {int(r["iteration"]): float(r["accuracy"]) for r in rows
                  if r["variant"] == variant}
    assert by_variant[variant]["num_switches"] == 9
    np.testing.assert_allclose(by_variant[variant]["mean_accuracy_after_switch"],
                               np.mean([accuracies[4 * k + 2] for k in range(1, 10)]))
    np.testing.assert_allclose(by_variant[variant]["mean_accuracy_end_of_task"],
                               np.mean([accuracies[4 * k + 4] for k in range(10)]))
  # Balanced eval sets: ~200 of each class among the embedded set's 2000 eval images.
  assert all(300 < n < 500 for n in summary["settings"]["eval_images_per_task"])


def test_a_patch_critic_is_refused():
  gin.parse_config(tiny_configs.tiny_networks() + "D.patch_output = True")
  with pytest.raises(app.UsageError, match="D.patch_output = True gives one logit per patch"):
    forgetting.train_variant("with_rotation", None, None, "dcgan", (32, 32, 1),
                             forgetting.Schedule(10, 2, 1, 1), batch_size=8, seed=0)


def test_a_bad_out_is_refused_before_any_work(tmp_path, monkeypatch):
  not_a_folder = tmp_path / "file"
  not_a_folder.write_text("")
  def no_work(*args, **kwargs):
    raise AssertionError("work started before --out was checked")
  monkeypatch.setattr(forgetting.datasets, "get_dataset", no_work)
  monkeypatch.setattr(forgetting, "train_variant", no_work)
  for out in (not_a_folder, not_a_folder / "sub"):
    with pytest.raises(app.UsageError, match=f"--out={out}: cannot create the output folder"):
      forgetting.run(str(out), "fashion_mnist_embedded", None, "dcgan", iterations_per_task=4,
                     cycles=1, eval_every=2, batch_size=8, seed=0)
