"""Writes a report of runs (the command: write_report.py): tables, figures, CSV/JSON."""
import csv
import json
import math
import os
import shutil

from compare_ssgan.studies import comparisons
from compare_ssgan.studies import figures
from compare_ssgan.studies import hparams
from compare_ssgan.studies import stored_runs
from compare_ssgan.studies import tables

MARKDOWN = "report.md"
CSV = "report.csv"
SERIES_CSV = "series.csv"  # Every run's every value at every scored checkpoint (step 0 too).
JSON = "report.json"
LATEX = "tables.tex"
CURVES = "curves.png"
PROBE_CURVES = "probe_curves.png"
PROBE_VS_FID = "probe_vs_fid.png"
MONTAGE = "montage.png"
HPARAMS = "hparams"
_SERIES_FIELDS = ("cell", "seed", "complete", "metric", "step", "value")
_CSV_FIELDS = ("table", "row", "column", "cell", "metric", "point", "n", "planned", "mean",
               "std", "best", "best_seed", "values", "steps")


def _no_nan(value):
  """JSON has no NaN: None stands for it."""
  if isinstance(value, float) and math.isnan(value):
    return None
  if isinstance(value, dict):
    return {k: _no_nan(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_no_nan(v) for v in value]
  return value


def _probe_metrics(cells):
  """The probe's accuracy of each D block that a complete run reports."""
  blocks = sorted({b for c in cells for r in c.complete() for b in r.probe_blocks()})
  return [f"probe_top1_block{b}" for b in blocks]


def _unit(metric):
  """"FID", "KID", "probe top-1, block3": how a comparison names its metric."""
  return metric.replace("probe_top1_", "probe top-1, ") if metric.startswith(
      "probe_") else metric.upper()


def _final_values(cells):
  """{metric: {cell: {seed: value}}}: each run's final FID, KID and probe accuracy of each
  block (cells without values for a metric are left out of it)."""
  found = {}
  for metric in list(tables.METRICS) + _probe_metrics(cells):
    values = {c.name: tables.stat(c, metric, "final").values for c in cells}
    found[metric] = {name: v for name, v in values.items() if v}
  return found


def _comparisons(cells, baseline):
  """{metric: [comparisons.Comparison]}: each cell against the baseline cell, Holm over the
  cells within each metric."""
  return {metric: comparisons.compare(values, baseline, metric)
          for metric, values in _final_values(cells).items()
          if baseline in values and len(values) > 1}


def _pair_comparisons(cells, pairs):
  """{metric: [comparisons.Comparison]}: each (cell, reference) of `pairs` whose two cells
  have values for the metric, Holm over those pairs within each metric."""
  found = {}
  for metric, values in _final_values(cells).items():
    scored = [(a, b) for a, b in pairs if a in values and b in values]
    if scored:
      found[metric] = comparisons.compare_pairs(values, scored, metric)
  return found


def check_pairs(pairs, cells, baseline):
  """ValueError naming the first (cell, reference) of `pairs` that is not two different
  cells of the report, repeats a pair, or includes the baseline (every cell is compared with
  it already)."""
  names = [c.name for c in cells]
  seen = set()
  for a, b in pairs:
    shown = f"--pairs entry {a}:{b}"
    if a not in names or b not in names:
      raise ValueError(f"{shown}: {a if a not in names else b} is not a cell of the report; "
                       f"its cells are {names}.")
    if a == b:
      raise ValueError(f"{shown}: a cell compared with itself; expected two different cells.")
    if baseline in (a, b):
      raise ValueError(f"{shown}: every cell is already compared with the baseline, {baseline}.")
    if frozenset((a, b)) in seen:
      raise ValueError(f"{shown}: this pair is given twice.")
    seen.add(frozenset((a, b)))


def _number(value, decimals):
  return "—" if math.isnan(value) else f"{value:.{decimals}f}"


def _interval(pair, decimals):
  return "—" if math.isnan(pair[0]) else f"[{pair[0]:.{decimals}f}, {pair[1]:.{decimals}f}]"


def _comparison_markdown(found, title, family):
  """The comparisons' table and sentences under `title`; `family`: what Holm's correction
  runs over (e.g. "cells"), counted per metric."""
  # The bootstrap column only where some comparison has one (enough paired seeds).
  bootstrap = any(not math.isnan(c.ci_bootstrap[0]) for cs in found.values() for c in cs)
  header = (["cell", "compared with", "metric", "difference", "95 % CI (t)"]
            + (["95 % CI (bootstrap)"] if bootstrap else []) + ["test, n", "p", "Holm p", "d"])
  lines = [f"### {title}", "",
           "Per seed where the cells share seeds (paired t), else Welch's t; 95 % intervals "
           f"from t and, from {comparisons.BOOTSTRAP_MIN_SEEDS} paired seeds on, from a "
           "percentile bootstrap (10,000 resamples; with fewer it is too narrow: 3 values "
           f"have only 10 distinct resamples); p corrected over the {family} by Holm's "
           "method; d: mean difference over the sd of the differences (paired) or the "
           "pooled sd (Welch). The sentences below use the t interval.", "",
           tables.markdown_row(header), tables.markdown_row(["---"] * len(header))]
  sentences = []
  for metric, found_for_metric in found.items():
    decimals = tables.decimals(metric)
    holm_family = f"the {comparisons.family_size(found_for_metric)} {family}"
    for c in found_for_metric:
      lines.append(tables.markdown_row(
          [c.cell, c.baseline, _unit(metric), f"{c.difference:+.{decimals}f}",
           _interval(c.ci_t, decimals)]
          + ([_interval(c.ci_bootstrap, decimals)] if bootstrap else [])
          + [f"{c.test or '—'}, {c.n}", comparisons.format_p(c.p),
             comparisons.format_p(c.p_holm), _number(c.effect_size, 2)]))
      sentences.append("- " + comparisons.sentence(
          c, _unit(metric), decimals, family=holm_family))
  return "\n".join(lines + [""] + sentences)


def _per_run_markdown(cells):
  """Each complete run's FID and KID (with KID's standard error over its blocks, where it
  has two or more) at its final step: the values every mean in the report is taken over."""
  lines = ["### Each run at its final step", "",
           "KID ± its standard error over the evaluation's blocks (`kid.block_size`; none with "
           "one block). From k blocks the error has k − 1 degrees of freedom (one from two "
           "blocks), so one run's error is a rough guide; the comparisons above use the spread "
           "over seeds instead.", "", "| cell | seed | step | FID | KID ± s.e. |",
           "| --- | --- | --- | --- | --- |"]
  for c in cells:
    for r in c.complete():
      fid, kid = (tables.run_value(r, m, "final") for m in ("fid", "kid"))
      if fid is None and kid is None:
        continue
      stderr = r.values("kid_stderr").get(r.final_step, math.nan)
      kid_text = "—" if kid is None else f"{kid[1]:.4f}" + (
          "" if math.isnan(stderr) else f" ± {stderr:.4f}")
      fid_text = "—" if fid is None else f"{fid[1]:.2f}"
      lines.append(f"| {r.cell} | {r.seed} | {r.final_step} | {fid_text} | {kid_text} |")
  return "\n".join(lines) if len(lines) > 6 else ""


def _minutes(secs):
  return "unknown" if secs is None else f"{secs / 60:.1f}"


def _wall_time_markdown(cells):
  """Each run's wall time (training and its evaluation, as the study runner ran them)."""
  runs = [r for c in cells for r in c.runs]
  lines = ["### Wall time of the runs", "",
           "Training and evaluation as the study runner ran them (`study_run.log`), summed "
           "over a run's attempts (time between attempts not counted).", "",
           "| cell | seed | complete | attempts | minutes |",
           "| --- | --- | --- | --- | --- |"]
  lines += [f"| {r.cell} | {r.seed} | {'yes' if r.complete else 'no (so far)'} | "
            f"{len(r.attempt_secs)} | {_minutes(r.wall_secs)} |" for r in runs]
  known = [r.wall_secs for r in runs if r.wall_secs is not None]
  lines += ["", f"Total: {_minutes(sum(known))} minutes over {len(known)} runs"
            + ("" if len(known) == len(runs) else
               f" ({len(runs) - len(known)} runs without a recorded time)") + "."]
  return "\n".join(lines)


_MONTAGE_TITLE = "Final samples (each cell's seed with the lowest final FID)"


def _keep_samples(shown, out):
  """Makes out/samples/ hold exactly the sample grids of the runs the montage shows, so
  that the report can be written again from its own files (stored_runs.py)."""
  wanted = {stored_runs.samples_file(out, r.cell, r.seed): r.samples for r in shown}
  os.makedirs(os.path.join(out, stored_runs.SAMPLES_DIR), exist_ok=True)
  for kept, source in wanted.items():
    if os.path.abspath(kept) != os.path.abspath(source):
      shutil.copyfile(source, kept)
  for name in os.listdir(os.path.join(out, stored_runs.SAMPLES_DIR)):
    path = os.path.join(out, stored_runs.SAMPLES_DIR, name)
    if path not in wanted:
      os.remove(path)


def _not_shown(missing, montage_path):
  """The sentence after the montage (or in its place) naming the cells with a final FID
  that it leaves out for want of the sample grid."""
  if not missing:
    return ""
  return ("" if montage_path else f"### {_MONTAGE_TITLE}\n\n") + (
      f"Not shown (the final sample grid of the cell's best seed is not available): "
      f"{', '.join(missing)}.")


def write_report(cells, out, baseline=None, pairs=()):
  """Every report file of `cells` (collect.CellRuns) into `out`; returns their paths.

  `baseline` (default: the first cell) is the cell the others are compared with; `pairs`:
  further (cell, reference) comparisons (check_pairs), a Holm family of their own.
  """
  baseline = baseline or cells[0].name
  if baseline not in [c.name for c in cells]:
    raise ValueError(f"--baseline={baseline} is not a cell of the report; its cells are "
                     f"{[c.name for c in cells]}.")
  check_pairs(pairs, cells, baseline)
  os.makedirs(out, exist_ok=True)
  grids = tables.grids(cells)
  found = _comparisons(cells, baseline)
  found_pairs = _pair_comparisons(cells, pairs)
  paths = {}
  probe_metrics = _probe_metrics(cells)
  # First: it reads every sample grid, so a damaged one stops the report before any file.
  montage_path, shown, not_shown = figures.montage(cells, os.path.join(out, MONTAGE))
  figure_paths = {
      "FID and KID over training": figures.curves(
          cells, tables.METRICS, os.path.join(out, CURVES)),
      "Probe accuracy over training": figures.curves(
          cells, probe_metrics, os.path.join(out, PROBE_CURVES)),
      "Probe accuracy against FID": probe_metrics and figures.probe_vs_fid(
          cells, probe_metrics[-1], os.path.join(out, PROBE_VS_FID)),
      _MONTAGE_TITLE: montage_path}
  figure_paths = {title: path for title, path in figure_paths.items() if path}
  _keep_samples(shown, out)

  records = [record for grid in grids for record in grid.records()]
  paths["csv"] = os.path.join(out, CSV)
  with open(paths["csv"], "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
      writer.writerow(dict(record, values=json.dumps(_no_nan(record["values"])),
                           steps=json.dumps(record["steps"])))
  paths["series_csv"] = os.path.join(out, SERIES_CSV)
  with open(paths["series_csv"], "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=_SERIES_FIELDS, lineterminator="\n")
    writer.writeheader()
    for c in cells:
      for r in c.runs:
        for metric, values in sorted(r.series.items()):
          for step, value in sorted(values.items()):
            writer.writerow({"cell": r.cell, "seed": r.seed, "complete": r.complete,
                             "metric": metric, "step": step, "value": value})
  paths["json"] = os.path.join(out, JSON)
  with open(paths["json"], "w") as f:
    json.dump({"tables": [{"name": g.name, "title": g.title, "rows": g.rows,
                           "columns": g.columns,
                           "cells": [_no_nan(r) for r in g.records()]} for g in grids],
               "runs": [_no_nan(stored_runs.to_json(r)) for c in cells for r in c.runs],
               "montage_seeds": {r.cell: r.seed for r in shown},
               "comparisons": {"baseline": baseline, **{
                   metric: [_no_nan(r) for r in comparisons.records(c)]
                   for metric, c in found.items()}},
               "pair_comparisons": {metric: [_no_nan(r) for r in comparisons.records(c)]
                                    for metric, c in found_pairs.items()}}, f, indent=1)
  paths["latex"] = os.path.join(out, LATEX)
  with open(paths["latex"], "w") as f:
    f.write("% \\usepackage{booktabs}\n" + "\n\n".join(tables.latex(g) for g in grids) + "\n")
  paths["markdown"] = os.path.join(out, MARKDOWN)
  with open(paths["markdown"], "w") as f:
    f.write("\n\n".join(
        [_MARKDOWN_NOTE] + [tables.markdown(g) for g in grids] +
        ([_comparison_markdown(found, f"Differences from {baseline} at the final step",
                               "cells")] if found else []) +
        ([_comparison_markdown(found_pairs, "Differences between the chosen pairs at the "
                               "final step", "pairs")] if found_pairs else []) +
        [text for text in [_per_run_markdown(cells)] if text] +
        ([_wall_time_markdown(cells)] if any(r.attempt_secs for c in cells for r in c.runs)
         else []) +
        [f"### {title}\n\n![{title}]({os.path.basename(path)})"
         for title, path in figure_paths.items()] +
        [text for text in [_not_shown(not_shown, montage_path)] if text]) + "\n")
  paths["hparams"] = hparams.write(cells, os.path.join(out, HPARAMS))
  paths.update({os.path.basename(p): p for p in figure_paths.values()})
  return paths


_MARKDOWN_NOTE = (
    "Each cell: mean ± std over seeds (sample std, n - 1) and the best seed's value (lowest "
    "FID/KID, highest probe accuracy), over complete runs only; `n=k/N` where only k of the "
    "N planned runs are complete. *final*: each run's last checkpoint; *best*: each run's "
    "own best checkpoint.")
