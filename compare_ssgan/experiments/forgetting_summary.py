"""The forgetting experiment's statistics and figures, from its rows (`forgetting.py`).

Per (seed, variant) run, with T tasks per cycle and R[s, j] the accuracy on task j at the end
of task segment s (segment s trains task s mod T), per cycle:
  switch_accuracy: mean accuracy on the new task at the switch, before any update on it
    (the very first segment, an untrained net, left out);
  end_accuracy: mean R[s, s mod T] over the cycle's segments;
  switch_gap: mean of end minus switch accuracy over the same segments as switch_accuracy
    (what a task gains while it is trained: near 0 means it was kept from before);
  bwt: backward transfer (Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual
    Learning", arXiv:1706.08840), mean over the cycle's segments s but its last of
    R[last segment of the cycle, s mod T] - R[s, s mod T] (negative: forgotten);
and, from cycle 2 on, each one's change from cycle 1. Per variant: the mean over seeds with a
95 % t interval (`comparisons.mean_interval`); with - without rotation: paired by seed
(`comparisons.paired`), Holm-corrected over the table's rows, and its `sentence`.
"""
import json
import math
import os

from matplotlib import figure as figure_lib
from matplotlib import patches
import numpy as np
import tensorflow as tf

from compare_ssgan.studies import comparisons

VARIANTS = ("without_rotation", "with_rotation")
ROW_FIELDS = ("seed", "variant", "iteration", "segment", "trained_task", "evaluated_task",
              "measured", "accuracy")
JSON_NAME, MD_NAME = "forgetting.json", "forgetting.md"
PNG_NAME, MATRIX_PNG_NAME = "forgetting.png", "forgetting_matrix.png"
MEASURES = {"switch_accuracy": "accuracy at the switch", "end_accuracy":
            "accuracy at the end of a task", "switch_gap": "end minus switch accuracy",
            "bwt": "backward transfer"}
_COLOURS = {"without_rotation": "tab:blue", "with_rotation": "tab:orange"}


def by_run(rows):
  """{(seed, variant): its rows}."""
  runs = {}
  for row in rows:
    runs.setdefault((row["seed"], row["variant"]), []).append(row)
  return runs


def accuracy_matrix(run_rows, num_tasks):
  """R[segment, evaluated task]: every task's accuracy at the end of each task segment."""
  ends = [r for r in run_rows if r["measured"] == "end"]
  matrix = np.full((max(r["segment"] for r in ends) + 1, num_tasks), np.nan)
  for r in ends:
    matrix[r["segment"], r["evaluated_task"]] = r["accuracy"]
  return matrix


def switch_accuracies(run_rows):
  """Accuracy on the new task at each segment's switch, by segment."""
  switches = sorted((r["segment"], r["accuracy"]) for r in run_rows if r["measured"] == "switch")
  return np.array([accuracy for _, accuracy in switches])


def backward_transfer(matrix, num_tasks, cycle):
  """BWT of 0-based `cycle`: mean over its segments s but the last of
  R[last, s mod T] - R[s, s mod T]."""
  first, last = cycle * num_tasks, (cycle + 1) * num_tasks - 1
  return float(np.mean([matrix[last, s % num_tasks] - matrix[s, s % num_tasks]
                        for s in range(first, last)]))


def run_measures(run_rows, num_tasks, cycles):
  """{name: value} of one run: "cycle<c>/<measure>" and "change_1_to_<c>/<measure>"."""
  matrix, switch = accuracy_matrix(run_rows, num_tasks), switch_accuracies(run_rows)
  values = {}
  for cycle in range(cycles):
    segments = range(cycle * num_tasks, (cycle + 1) * num_tasks)
    switched = [s for s in segments if s > 0]  # Segment 0 starts untrained.
    end = np.array([matrix[s, s % num_tasks] for s in segments])
    values[f"cycle{cycle + 1}/switch_accuracy"] = float(np.mean(switch[switched]))
    values[f"cycle{cycle + 1}/end_accuracy"] = float(np.mean(end))
    values[f"cycle{cycle + 1}/switch_gap"] = float(np.mean(
        [matrix[s, s % num_tasks] - switch[s] for s in switched]))
    values[f"cycle{cycle + 1}/bwt"] = backward_transfer(matrix, num_tasks, cycle)
  for cycle in range(2, cycles + 1):
    for measure in MEASURES:
      values[f"change_1_to_{cycle}/{measure}"] = (values[f"cycle{cycle}/{measure}"]
                                                  - values[f"cycle1/{measure}"])
  return values


def label(name):
  """"accuracy at the switch, cycle 1" / "... change cycle 1 → 2"."""
  group, measure = name.split("/")
  if group.startswith("cycle"):
    return f"{MEASURES[measure]}, cycle {group[5:]}"
  return f"{MEASURES[measure]}, change cycle 1 → {group.rsplit('_', 1)[1]}"


def summarize(rows, num_tasks, cycles, seeds):
  """Per measure: each variant's mean and 95 % t interval over `seeds`, and the paired
  difference with - without rotation; and each variant's mean R over seeds."""
  runs = by_run(rows)
  measures = {key: run_measures(runs[key], num_tasks, cycles)
              for key in ((s, v) for s in seeds for v in VARIANTS)}
  names = list(measures[(seeds[0], VARIANTS[0])])
  found = comparisons.correct([
      comparisons.paired(VARIANTS[1], VARIANTS[0], name,
                         {s: measures[(s, VARIANTS[1])][name] for s in seeds},
                         {s: measures[(s, VARIANTS[0])][name] for s in seeds})
      for name in names])
  holm_family = f"the {comparisons.family_size(found)} measures"
  summary = {}
  for name, comparison, record in zip(names, found, comparisons.records(found)):
    variants = {}
    for variant in VARIANTS:
      per_seed = {s: measures[(s, variant)][name] for s in seeds}
      mean, low, high = comparisons.mean_interval(list(per_seed.values()))
      variants[variant] = {"mean": mean, "ci95": [low, high],
                           "per_seed": {str(s): v for s, v in per_seed.items()}}
    record["sentence"] = comparisons.sentence(comparison, f"({label(name)})", 3,
                                              family=holm_family)
    summary[name] = {"label": label(name), "variants": variants,
                     "with_minus_without": record}
  matrices = {v: np.mean([accuracy_matrix(runs[(s, v)], num_tasks) for s in seeds], axis=0)
              for v in VARIANTS}
  return summary, matrices


def _finite(value):
  """JSON-safe: NaN becomes None, tuples lists."""
  if isinstance(value, dict):
    return {k: _finite(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_finite(v) for v in value]
  if isinstance(value, float) and math.isnan(value):
    return None
  return value


def schedule_text(info):
  family = {"one_vs_all": "one-vs-all", "similar_pairs": "similar-pair"}[info["tasks"]]
  return (f"{info['num_tasks']} {family} tasks × {info['iterations_per_task']} "
          f"iterations × {info['cycles']} cycle{'s' if info['cycles'] != 1 else ''}")


def _number(value, signed=False):
  return "n/a" if value is None or math.isnan(value) else f"{value:{'+' if signed else ''}.3f}"


def _p(value):
  return "n/a" if value is None else comparisons.format_p(value)


def markdown(summary):
  """forgetting.md: the settings, one table row per measure, the sentences, the matrices."""
  info, seeds = summary["settings"], summary["settings"]["seeds"]
  tasks = "; ".join(f"{k}: {name}" for k, name in enumerate(info.get("task_names", [])))
  lines = [f"# Forgetting (SS-GAN Fig. 3): {info['dataset']}, {info['architecture']} D", "",
           f"Seeds {', '.join(map(str, seeds))}; {schedule_text(info)}; held-out images per "
           f"task {info['eval_images_per_task']}. Tasks (target 1 vs target 0): {tasks}. "
           "Variant columns: mean over seeds [95 % t interval]. Last columns: with − without "
           "rotation paired by seed, t interval, paired t-test, Holm over this table's rows.",
           "",
           "| measure | without rotation | with rotation | with − without [95 % CI] | p | "
           "Holm p |", "| --- | --- | --- | --- | --- | --- |"]
  for entry in summary["measures"].values():
    cells = []
    for variant in VARIANTS:
      v = entry["variants"][variant]
      cells.append(f"{_number(v['mean'])} [{_number(v['ci95'][0])}, {_number(v['ci95'][1])}]")
    d = entry["with_minus_without"]
    lines.append(f"| {entry['label']} | {cells[0]} | {cells[1]} | "
                 f"{_number(d['difference'], True)} [{_number(d['ci_t'][0])}, "
                 f"{_number(d['ci_t'][1])}] | {_p(d['p'])} | {_p(d['p_holm'])} |")
  lines += ["", *[f"- {e['with_minus_without']['sentence']}"
                  for e in summary["measures"].values()]]
  for variant in VARIANTS:
    lines += ["", f"R[end of segment, task] of {variant.replace('_', ' ')}, mean over seeds "
              "(rows: segments, columns: evaluated task; the task trained in bold):", "",
              "| segment (task) | " + " | ".join(map(str, range(info["num_tasks"]))) + " |",
              "| --- |" + " --- |" * info["num_tasks"]]
    for segment, row in enumerate(summary["matrices"][variant]):
      task = segment % info["num_tasks"]
      cells = [f"**{_number(x)}**" if j == task else _number(x) for j, x in enumerate(row)]
      lines.append(f"| {segment} ({task}) | " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def curve_points(rows):
  """Per variant: iterations, and [seed, point] accuracies on the task being trained (the
  switch, every eval_every, the end), in order; a switch shares its iteration with the
  previous segment's end, so the drop at a switch is a vertical step."""
  curves = {}
  for (seed, variant), run_rows in sorted(by_run(rows).items()):
    points = sorted(((r["segment"], r["iteration"], r["accuracy"]) for r in run_rows
                     if r["evaluated_task"] == r["trained_task"]), key=lambda p: p[:2])
    x, y = curves.setdefault(variant, ([p[1] for p in points], []))
    if x != [p[1] for p in points]:
      raise ValueError(f"Seed {seed}, {variant}: measured at other iterations than the "
                       "first seed.")
    y.append([p[2] for p in points])
  return {v: (np.array(x), np.array(y)) for v, (x, y) in curves.items()}


def y_limits(low, high):
  """The data's range with a margin of 5 % of it (at least 0.01), within [0, 1]."""
  margin = max(0.05 * (high - low), 0.01)
  return max(0.0, low - margin), min(1.0, high + margin)


def plot_curves(rows, info, path):
  """Mean accuracy over seeds per variant with a min-max band; task switches dotted, cycle
  ends dashed, chance (0.5) if in range; the legend right of the axes."""
  figure = figure_lib.Figure(figsize=(11, 4.5), layout="constrained")
  axis = figure.subplots()
  curves = curve_points(rows)
  period = info["iterations_per_task"]
  total = period * info["num_tasks"] * info["cycles"]
  for boundary in range(period, total, period):
    cycle_end = boundary % (period * info["num_tasks"]) == 0
    axis.axvline(boundary, color="0.3" if cycle_end else "0.75",
                 linestyle="--" if cycle_end else ":", linewidth=1,
                 label=("end of a cycle" if cycle_end else "task switch"))
  for variant in [v for v in VARIANTS if v in curves]:
    x, y = curves[variant]
    name = variant.replace("_", " ")
    axis.fill_between(x, y.min(axis=0), y.max(axis=0), color=_COLOURS[variant], alpha=0.2,
                      linewidth=0, label=f"{name}: min–max over seeds")
    axis.plot(x, y.mean(axis=0), color=_COLOURS[variant], linewidth=1.2,
              label=f"{name}: mean over seeds")
  low, high = y_limits(min(y.min() for _, y in curves.values()),
                       max(y.max() for _, y in curves.values()))
  if low <= 0.5 <= high:
    axis.axhline(0.5, color="k", linestyle="-.", linewidth=0.8, label="chance (0.5)")
  axis.set(xlim=(0, total), ylim=(low, high), xlabel="iteration (updates so far)",
           ylabel="held-out accuracy on the task being trained")
  handles, labels = axis.get_legend_handles_labels()
  unique = dict(zip(labels, handles))
  figure.legend(unique.values(), unique.keys(), loc="outside right center", fontsize="small")
  figure.suptitle(_caption(info, "Accuracy on the current task, measured at each switch "
                           "before any update, every eval_every iterations and at each "
                           "task's end"), fontsize="small")
  _save(figure, path)
  return figure


def _caption(info, what):
  return (f"{what}\nseeds {', '.join(map(str, info['seeds']))} (mean, min–max band); "
          f"{schedule_text(info)}; {info['dataset']}, {info['architecture']} D")


def plot_matrices(matrices, info, path):
  """R (mean over seeds) per variant as heatmaps with one colour scale and a colourbar;
  the task being trained boxed."""
  figure = figure_lib.Figure(figsize=(4 + 2.2 * info["num_tasks"] / 5 * len(VARIANTS), 6),
                             layout="constrained")
  axes = figure.subplots(1, len(VARIANTS), sharey=True)
  values = np.concatenate([m.ravel() for m in matrices.values()])
  low, high = float(np.nanmin(values)), float(np.nanmax(values))
  for axis, variant in zip(axes, VARIANTS):
    image = axis.imshow(matrices[variant], vmin=low, vmax=high, cmap="viridis",
                        aspect="auto", interpolation="nearest")
    segments = len(matrices[variant])
    for segment in range(segments):
      axis.add_patch(patches.Rectangle((segment % info["num_tasks"] - 0.5, segment - 0.5),
                                       1, 1, fill=False, edgecolor="white", linewidth=1))
    axis.set_xticks(range(info["num_tasks"]))
    axis.set_yticks(range(segments), [f"c{s // info['num_tasks'] + 1} t{s % info['num_tasks']}"
                                      for s in range(segments)], fontsize="x-small")
    axis.set(title=variant.replace("_", " "), xlabel="evaluated task")
  axes[0].set_ylabel("end of segment (cycle, task trained)")
  figure.colorbar(image, ax=list(axes), label="held-out accuracy (mean over seeds)")
  figure.suptitle(_caption(info, "Accuracy on every task at the end of each task segment "
                           "(trained task boxed)").replace(" (mean, min–max band)", ""),
                  fontsize="small")
  _save(figure, path)
  return figure


def _save(figure, path):
  with tf.io.gfile.GFile(path, "wb") as f:
    figure.savefig(f, format="png", dpi=110)


def write_all(rows, info, out):
  """forgetting.json, forgetting.md, forgetting.png and forgetting_matrix.png in `out`;
  returns the JSON's content."""
  measures, matrices = summarize(rows, info["num_tasks"], info["cycles"], info["seeds"])
  summary = _finite({"settings": info, "measures": measures,
                     "matrices": {v: m.tolist() for v, m in matrices.items()}})
  with tf.io.gfile.GFile(os.path.join(out, JSON_NAME), "w") as f:
    json.dump(summary, f, indent=2)
  with tf.io.gfile.GFile(os.path.join(out, MD_NAME), "w") as f:
    f.write(markdown(summary))
  plot_curves(rows, info, os.path.join(out, PNG_NAME))
  plot_matrices(matrices, info, os.path.join(out, MATRIX_PNG_NAME))
  return summary
