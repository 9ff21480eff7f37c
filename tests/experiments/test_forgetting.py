"""The forgetting experiment: balanced task batches, when accuracy is measured, resuming, a
tiny run end to end, its statistics against scipy and its figures."""
import csv
import json
import os

from absl import app
from absl import flags
import gin
import numpy as np
import pytest
from scipy import stats

from compare_ssgan.experiments import forgetting
from compare_ssgan.experiments import forgetting_summary as summary_lib
from compare_ssgan.experiments import forgetting_tasks as tasks_lib
from compare_ssgan.gans import randomness
from tests import tiny_configs


def _draws(batches, task, steps, batch_size=8):
  for step in range(steps):
    yield (t.numpy() for t in batches.batch(
        task, batch_size, randomness.fold_in(np.array([1, 2], np.int32), step)))


def test_one_vs_all_batches_are_half_class_k_half_the_other_classes_interleaved():
  rng = np.random.default_rng(0)
  # Unequal classes in a shuffled order; each image holds its own example id.
  labels = rng.permutation(np.repeat(np.arange(4), [5, 9, 3, 7])).astype(np.int32)
  images = np.arange(len(labels), dtype=np.float32).reshape(-1, 1, 1, 1)
  tasks = tasks_lib.make_tasks("one_vs_all", "any", 4)
  assert [(t.positives, t.negatives) for t in tasks][1] == ((1,), (0, 2, 3))
  batches = tasks_lib.TaskBatches(images, labels, tasks)
  for task in range(4):
    seen_negative_classes, seen_positive_ids = set(), set()
    for images_k, targets, batch_labels in _draws(batches, task, 40):
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


def test_similar_pairs_batches_and_eval_sets_hold_only_the_pairs_classes_balanced():
  rng = np.random.default_rng(1)
  labels = rng.permutation(np.repeat(np.arange(10), rng.integers(3, 9, 10))).astype(np.int32)
  images = np.arange(len(labels), dtype=np.float32).reshape(-1, 1, 1, 1)
  tasks = tasks_lib.make_tasks("similar_pairs", "fashion_mnist_embedded", 10)
  assert [t.name for t in tasks] == ["T-shirt/top vs Shirt", "Pullover vs Coat",
                                     "Sneaker vs Ankle boot", "Pullover vs Shirt",
                                     "Coat vs Shirt"]
  batches = tasks_lib.TaskBatches(images, labels, tasks)
  for index, (positive, negative) in enumerate(tasks_lib.SIMILAR_PAIRS):
    seen = set()
    for images_k, targets, batch_labels in _draws(batches, index, 30):
      np.testing.assert_array_equal(labels[images_k.reshape(-1).astype(int)], batch_labels)
      np.testing.assert_array_equal(targets, [1, 0] * 4)
      np.testing.assert_array_equal(batch_labels[0::2], positive)  # Half each, interleaved.
      np.testing.assert_array_equal(batch_labels[1::2], negative)
      seen.update(images_k.reshape(-1).astype(int).tolist())
    assert seen == set(np.flatnonzero(np.isin(labels, [positive, negative])).tolist())
    held_out = labels[tasks_lib.balanced_eval_indices(labels, tasks[index])]
    assert set(held_out) == {positive, negative}
    assert np.sum(held_out == positive) == np.sum(held_out == negative) == min(
        np.sum(labels == positive), np.sum(labels == negative))
  with pytest.raises(app.UsageError, match="--dataset=cifar10 is not one of"):
    tasks_lib.make_tasks("similar_pairs", "cifar10", 10)


def test_eval_set_is_every_positive_and_as_many_negatives():
  labels = np.array([2, 0, 1, 2, 0, 0, 1, 2, 1, 1])
  task = tasks_lib.make_tasks("one_vs_all", "any", 3)[2]
  np.testing.assert_array_equal(tasks_lib.balanced_eval_indices(labels, task),
                                [0, 3, 7, 1, 2, 4])


@pytest.mark.parametrize("args, message", [
    (["--batch_size=6"], "--batch_size=6: must be a multiple of 4"),
    (["--iterations_per_task=10", "--eval_every=3"], "--eval_every must divide"),
    (["--seeds=0,0"], r"--seeds=\['0', '0'\]: expected distinct integers"),
    (["--seeds=0,x"], r"--seeds=\['0', 'x'\]: expected distinct integers"),
    (["--tasks=pairs"], "--tasks=pairs: value should be one of"),
    (["--dataset=mnist_typo"], "--dataset=mnist_typo: value should be one of"),
    (["--architecture=resnet"], "--architecture=resnet: value should be one of")])
def test_bad_flags_are_named(args, message):
  flag_values = flags.FlagValues()
  forgetting.define_flags(flag_values)
  with pytest.raises(flags.IllegalFlagValueError, match=message):
    flag_values(["forgetting", "--out=x", *args])


def test_default_seeds_are_three():
  flag_values = flags.FlagValues()
  forgetting.define_flags(flag_values)
  flag_values(["forgetting", "--out=x"])
  assert flag_values.seeds == ["0", "1", "2"] and flag_values.tasks == "one_vs_all"


class _Counting:
  """A stand-in classifier whose accuracy is a function of (updates so far, task)."""

  def __init__(self, table=None):
    self.updates, self.calls, self.table = 0, [], table

  def train(self, step, task):
    self.calls.append((step, task))
    self.updates += 1

  def accuracy(self, task):
    if self.table is None:
      return 100.0 * self.updates + task  # Says how many updates preceded it.
    return float(self.table[self.updates, task])


def test_the_switch_is_measured_before_any_update_then_every_eval_every_then_every_task():
  schedule = forgetting.Schedule(num_tasks=3, iterations_per_task=4, cycles=2, eval_every=2)
  classifier = _Counting()
  rows = forgetting.measure(classifier, schedule, seed=7, variant="with_rotation")
  assert classifier.calls == [(step, schedule.task(step)) for step in range(schedule.total)]
  for row in rows:  # Every measurement saw exactly `iteration` updates.
    assert row["accuracy"] == 100.0 * row["iteration"] + row["evaluated_task"]
    assert row["trained_task"] == row["segment"] % 3 and row["seed"] == 7
  got = [(r["segment"], r["iteration"], r["measured"], r["evaluated_task"]) for r in rows]
  expected = []
  for segment in range(6):
    task, start = segment % 3, 4 * segment
    expected += [(segment, start, "switch", task), (segment, start + 2, "during", task)]
    expected += [(segment, start + 4, "end", j) for j in range(3)]
  assert got == expected
  assert len(rows) == schedule.segments * (3 + 4 // 2)  # What read_rows expects.


def _rows(matrix, switch, seed, variant, num_tasks):
  """Rows of one run from R and the switch accuracies (no "during" rows)."""
  rows = []
  for segment, (row, at_switch) in enumerate(zip(matrix, switch)):
    task = segment % num_tasks
    base = {"seed": seed, "variant": variant, "segment": segment, "trained_task": task}
    rows.append(dict(base, iteration=segment, measured="switch", evaluated_task=task,
                     accuracy=at_switch))
    rows += [dict(base, iteration=segment + 1, measured="end", evaluated_task=j,
                  accuracy=float(a)) for j, a in enumerate(row)]
  return rows


def test_backward_transfer_and_the_cycle_measures_on_a_known_matrix():
  matrix = np.array([[0.9, 0.5, 0.5], [0.7, 0.8, 0.5], [0.6, 0.7, 0.9],
                     [0.95, 0.6, 0.8], [0.9, 0.85, 0.7], [0.8, 0.75, 0.9]])
  assert summary_lib.backward_transfer(matrix, 3, 0) == pytest.approx(
      ((0.6 - 0.9) + (0.7 - 0.8)) / 2)
  assert summary_lib.backward_transfer(matrix, 3, 1) == pytest.approx(
      ((0.8 - 0.95) + (0.75 - 0.85)) / 2)
  switch = [0.5, 0.6, 0.7, 0.65, 0.55, 0.8]
  values = summary_lib.run_measures(_rows(matrix, switch, 0, "with_rotation", 3), 3, 2)
  assert values["cycle1/switch_accuracy"] == pytest.approx((0.6 + 0.7) / 2)  # Not segment 0.
  assert values["cycle2/switch_accuracy"] == pytest.approx((0.65 + 0.55 + 0.8) / 3)
  assert values["cycle1/end_accuracy"] == pytest.approx((0.9 + 0.8 + 0.9) / 3)
  assert values["cycle1/switch_gap"] == pytest.approx(((0.8 - 0.6) + (0.9 - 0.7)) / 2)
  assert values["change_1_to_2/bwt"] == pytest.approx(-0.125 - -0.2)
  assert len(values) == 12


def test_the_summary_is_scipys_t_intervals_and_says_where_no_difference_was_detected():
  rng = np.random.default_rng(3)
  seeds, rows = [0, 1, 2], []
  for seed, noise in zip(seeds, [0.01, -0.02, 0.005]):
    matrix = rng.uniform(0.6, 0.9, (6, 3))
    switch = rng.uniform(0.5, 0.8, 6)
    rows += _rows(matrix, switch, seed, "without_rotation", 3)
    # With rotation: every task's end accuracy 0.05 higher, the switch only noise.
    rows += _rows(matrix + 0.05 + rng.normal(0, 0.01, matrix.shape), switch + noise, seed,
                  "with_rotation", 3)
  measures, matrices = summary_lib.summarize(rows, 3, 2, seeds)
  runs = summary_lib.by_run(rows)
  for name, entry in measures.items():
    per_variant = {v: np.array([summary_lib.run_measures(runs[(s, v)], 3, 2)[name]
                                for s in seeds]) for v in summary_lib.VARIANTS}
    for variant, values in per_variant.items():
      got = entry["variants"][variant]
      assert got["mean"] == pytest.approx(values.mean())
      assert got["ci95"] == pytest.approx(stats.t.interval(
          0.95, 2, loc=values.mean(), scale=stats.sem(values)), rel=1e-9)
    diffs = per_variant["with_rotation"] - per_variant["without_rotation"]
    difference = entry["with_minus_without"]
    assert difference["ci_t"] == pytest.approx(stats.t.interval(
        0.95, 2, loc=diffs.mean(), scale=stats.sem(diffs)), rel=1e-9)
    assert difference["p"] == pytest.approx(stats.ttest_rel(
        per_variant["with_rotation"], per_variant["without_rotation"]).pvalue, rel=1e-9)
    not_after_holm = difference["detected"] and difference["p_holm"] >= 0.05
    assert ("but not after Holm's correction over the 12 measures" in
            difference["sentence"]) == not_after_holm
  assert measures["cycle1/end_accuracy"]["with_minus_without"]["detected"]
  switch = measures["cycle1/switch_accuracy"]["with_minus_without"]
  assert not switch["detected"]
  assert "no difference was detected" in switch["sentence"]
  assert "(accuracy at the switch, cycle 1)" in switch["sentence"]
  mean_matrix = np.mean([summary_lib.accuracy_matrix(runs[(s, "with_rotation")], 3)
                         for s in seeds], axis=0)
  np.testing.assert_allclose(matrices["with_rotation"], mean_matrix)


def _synthetic_runs(low, high, seeds=(0, 1, 2)):
  schedule = forgetting.Schedule(num_tasks=3, iterations_per_task=4, cycles=2, eval_every=2)
  rows = []
  for seed in seeds:
    for variant in summary_lib.VARIANTS:
      table = np.random.default_rng([seed, len(variant)]).uniform(
          low, high, (schedule.total + 1, 3))
      rows += forgetting.measure(_Counting(table), schedule, seed, variant)
  info = {"num_tasks": 3, "iterations_per_task": 4, "cycles": 2, "seeds": list(seeds),
          "tasks": "similar_pairs", "dataset": "fashion_mnist_embedded",
          "architecture": "dcgan", "eval_images_per_task": [10, 10, 10]}
  return rows, info


def test_the_markdown_prints_p_values_like_the_study_reports():
  rows, info = _synthetic_runs(0.6, 0.9)
  measures, matrices = summary_lib.summarize(rows, 3, 2, info["seeds"])
  entry = next(iter(measures.values()))
  first = entry["with_minus_without"]
  first["p"], first["p_holm"] = 1e-5, 0.0123
  text = summary_lib.markdown({"settings": info, "measures": measures,
                               "matrices": {v: m.tolist() for v, m in matrices.items()}})
  row = next(line for line in text.splitlines() if line.startswith(f"| {entry['label']} |"))
  assert row.endswith("| < 0.001 | 0.012 |")


@pytest.mark.parametrize("low, high, chance", [(0.62, 0.97, False), (0.3, 0.7, True)])
def test_the_curves_fit_the_data_and_keep_the_legend_off_the_axes(tmp_path, low, high,
                                                                  chance):
  rows, info = _synthetic_runs(low, high)
  figure = summary_lib.plot_curves(rows, info, str(tmp_path / "curves.png"))
  (axis,) = figure.axes
  plotted = [y for line in axis.get_lines() if len(line.get_xdata()) > 2
             for y in line.get_ydata()]  # The means (axvline/axhline have 2 points).
  plotted += [y for band in axis.collections for path in band.get_paths()
              for y in path.vertices[:, 1]]
  assert len(plotted) > 100
  bottom, top = axis.get_ylim()
  assert bottom <= min(plotted) and max(plotted) <= top
  assert bottom > low - 0.1 and top < high + 0.1  # Fitted, not 0..1.
  labels = [line.get_label() for line in axis.get_lines()]
  assert ("chance (0.5)" in labels) == chance
  assert labels.count("task switch") == 4 and labels.count("end of a cycle") == 1
  renderer = figure._get_renderer()  # pylint: disable=protected-access
  (legend,) = figure.legends
  legend_box = legend.get_window_extent(renderer)
  assert not legend_box.overlaps(axis.get_window_extent(renderer))
  title = figure._suptitle  # pylint: disable=protected-access
  assert not legend_box.overlaps(title.get_window_extent(renderer))
  assert "seeds 0, 1, 2" in title.get_text()
  assert "3 similar-pair tasks × 4 iterations × 2 cycles" in title.get_text()
  assert "fashion_mnist_embedded, dcgan D" in title.get_text()
  assert len(legend.get_texts()) == 6 + chance


def test_the_matrices_share_one_colour_scale_with_a_colourbar(tmp_path):
  rows, info = _synthetic_runs(0.4, 0.9)
  _, matrices = summary_lib.summarize(rows, 3, 2, info["seeds"])
  figure = summary_lib.plot_matrices(matrices, info, str(tmp_path / "matrix.png"))
  panels = [axis for axis in figure.axes if axis.get_images()]
  assert len(panels) == 2 and len(figure.axes) == 3  # Two heatmaps and the colourbar.
  limits = {axis.get_images()[0].get_clim() for axis in panels}
  values = np.concatenate([m.ravel() for m in matrices.values()])
  assert limits == {(values.min(), values.max())}
  for axis, variant in zip(panels, summary_lib.VARIANTS):
    np.testing.assert_array_equal(axis.get_images()[0].get_array(), matrices[variant])
    assert axis.get_xlabel() == "evaluated task" and axis.get_title() == variant.replace(
        "_", " ")
  assert panels[0].get_ylabel() == "end of segment (cycle, task trained)"
  assert "held-out accuracy" in figure.axes[2].get_ylabel()


def _read_csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


@pytest.mark.slow
def test_tiny_run_measures_the_switch_on_the_previous_tasks_final_weights(tmp_path):
  gin.parse_config(tiny_configs.tiny_networks())
  summary = forgetting.run(str(tmp_path), "fashion_mnist_embedded", None, "dcgan",
                           iterations_per_task=2, cycles=2, eval_every=1, batch_size=8,
                           seeds=[0, 1])
  rows = forgetting.read_rows(str(tmp_path / forgetting.CSV_NAME), 2 * 2 * 20 * (10 + 2))
  runs = summary_lib.by_run(rows)
  assert set(runs) == {(s, v) for s in (0, 1) for v in forgetting.VARIANTS}
  ds = forgetting.datasets.get_dataset("fashion_mnist_embedded")
  tasks = tasks_lib.make_tasks("one_vs_all", "fashion_mnist_embedded", 10)
  test_images, test_labels = tasks_lib.load_split(ds, "test", 0)
  eval_sets = [(test_images[i], np.isin(test_labels[i], t.positives)) for t, i in
               ((t, tasks_lib.balanced_eval_indices(test_labels, t)) for t in tasks)]
  changed = 0
  for (seed, variant), run_rows in runs.items():
    assert run_rows == forgetting.read_rows(
        forgetting.seed_path(str(tmp_path), seed, variant), 20 * 12)
    matrix = summary_lib.accuracy_matrix(run_rows, 10)
    switch = summary_lib.switch_accuracies(run_rows)
    assert matrix.shape == (20, 10) and switch.shape == (20,)
    ends = sorted((r["segment"], r["accuracy"]) for r in run_rows
                  if r["measured"] == "end" and r["evaluated_task"] == r["trained_task"])
    np.testing.assert_array_equal(matrix[np.arange(20), np.arange(20) % 10],
                                  [a for _, a in ends])
    # At a switch: the previous segment's final weights on the new task, no update since.
    np.testing.assert_array_equal(switch[1:], matrix[np.arange(19), np.arange(1, 20) % 10])
    changed += np.sum(switch != matrix[np.arange(20), np.arange(20) % 10])  # Control.
    untrained = forgetting.Classifier(variant, None, eval_sets, "dcgan", ds.image_shape, 8,
                                      seed)
    assert switch[0] == untrained.accuracy(0)  # Iteration 0: the untrained net.
  assert changed > 20  # Training does move the accuracy between a switch and the end.
  with open(tmp_path / summary_lib.JSON_NAME) as f:
    assert json.load(f) == summary
  assert summary["settings"]["seeds"] == [0, 1] and len(summary["measures"]) == 12
  mean = np.array(summary["matrices"]["without_rotation"])
  assert mean.shape == (20, 10)
  np.testing.assert_allclose(np.diag(mean[:10]), np.mean(
      [summary_lib.accuracy_matrix(runs[(s, "without_rotation")], 10).diagonal()
       for s in (0, 1)], axis=0))
  for name in (summary_lib.PNG_NAME, summary_lib.MATRIX_PNG_NAME):
    with open(tmp_path / name, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  assert "| accuracy at the switch, cycle 1 |" in (tmp_path / summary_lib.MD_NAME).read_text()
  # Balanced eval sets: ~200 of each class among the embedded set's 2000 eval images.
  assert all(300 < n < 500 for n in summary["settings"]["eval_images_per_task"])


@pytest.mark.slow
def test_a_rerun_skips_finished_seeds_and_refuses_other_settings(tmp_path, monkeypatch):
  gin.parse_config(tiny_configs.tiny_networks())
  calls = []
  original = forgetting.train_variant

  def counting(variant, *args, **kwargs):
    calls.append((kwargs.get("seed", args[-1]), variant))
    return original(variant, *args, **kwargs)

  monkeypatch.setattr(forgetting, "train_variant", counting)
  out = str(tmp_path / "out")
  settings = dict(dataset="fashion_mnist_embedded", data_dir=None, architecture="dcgan",
                  iterations_per_task=2, cycles=1, eval_every=2, batch_size=8,
                  tasks="similar_pairs")
  first = forgetting.run(out, seeds=[0, 1], **settings)
  assert sorted(calls) == [(s, v) for s in (0, 1) for v in sorted(forgetting.VARIANTS)]
  finished = forgetting.seed_path(out, 1, "with_rotation")
  before = _read_csv(finished)
  os.remove(finished)  # As if killed before seed 1's second variant was written.
  calls.clear()
  assert forgetting.run(out, seeds=[0, 1], **settings) == first
  assert calls == [(1, "with_rotation")]
  assert _read_csv(finished) == before  # The same weights and batches again.
  calls.clear()
  forgetting.run(out, seeds=[0, 1], **settings)
  assert not calls
  with pytest.raises(app.UsageError, match="iterations_per_task was 2, now 4"):
    forgetting.run(out, seeds=[0, 1], **dict(settings, iterations_per_task=4))
  with pytest.raises(app.UsageError, match="tasks was 'similar_pairs', now 'one_vs_all'"):
    forgetting.run(out, seeds=[0, 1], **dict(settings, tasks="one_vs_all"))
  assert not calls


_ROW = {"seed": 0, "variant": "with_rotation", "iteration": 0, "segment": 1, "trained_task": 1,
        "evaluated_task": 1, "measured": "switch", "accuracy": 0.5}


@pytest.mark.parametrize("field, value, message", [
    ("accuracy", "abc", r"line 3: accuracy = 'abc'; expected a number"),
    ("accuracy", "nan", r"line 3: accuracy = 'nan'; expected an accuracy in \[0, 1\]"),
    ("accuracy", "1.5", r"line 3: accuracy = '1.5'; expected an accuracy in \[0, 1\]"),
    ("segment", "0.5", r"line 3: segment = '0.5'; expected a number"),
    ("accuracy", None, r"line 3: accuracy = None; expected a value \(the row is short\)")])
def test_a_damaged_row_is_named_with_its_file_line_and_field(tmp_path, field, value, message):
  path = str(tmp_path / "seed0_with_rotation.csv")
  forgetting.write_rows(path, [_ROW, _ROW])
  assert forgetting.read_rows(path, 2)[1]["accuracy"] == 0.5  # As written.
  with open(path) as f:
    header, first, second = f.read().splitlines()
  cells = dict(zip(header.split(","), second.split(",")))
  if value is None:
    del cells[field]
  else:
    cells[field] = value
  with open(path, "w") as f:
    f.write("\n".join([header, first, ",".join(cells.values())]) + "\n")
  with pytest.raises(ValueError, match=f"seed0_with_rotation.csv, {message}"):
    forgetting.read_rows(path, 2)


def test_a_patch_critic_is_refused():
  gin.parse_config(tiny_configs.tiny_networks() + "D.patch_output = True")
  with pytest.raises(app.UsageError, match="D.patch_output = True gives one logit per patch"):
    forgetting.Classifier("with_rotation", None, None, "dcgan", (32, 32, 1), batch_size=8,
                          seed=0)


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
                     cycles=1, eval_every=2, batch_size=8, seeds=[0])
