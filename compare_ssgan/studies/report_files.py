"""Writes a report of runs (the command: write_report.py): tables, figures, CSV/JSON."""
import csv
import json
import math
import os

from compare_ssgan import run_dir
from compare_ssgan.studies import collect
from compare_ssgan.studies import figures
from compare_ssgan.studies import hparams
from compare_ssgan.studies import tables

MARKDOWN = "report.md"
CSV = "report.csv"
JSON = "report.json"
LATEX = "tables.tex"
CURVES = "curves.png"
PROBE_CURVES = "probe_curves.png"
PROBE_VS_FID = "probe_vs_fid.png"
MONTAGE = "montage.png"
HPARAMS = "hparams"
_CSV_FIELDS = ("table", "row", "column", "cell", "metric", "point", "n", "planned", "mean",
               "std", "best", "best_seed", "values", "steps")


def _no_nan(value):
  """JSON has no NaN: None stands for it."""
  if isinstance(value, float) and math.isnan(value):
    return None
  if isinstance(value, dict):
    return {k: _no_nan(v) for k, v in value.items()}
  return value


def write_report(cells, out):
  """Every report file of `cells` (collect.CellRuns) into `out`; returns their paths."""
  os.makedirs(out, exist_ok=True)
  grids = tables.grids(cells)
  paths = {}
  blocks = sorted({b for c in cells for r in c.complete() for b in r.probe_blocks()})
  figure_paths = {
      "FID and KID over training": figures.curves(
          cells, tables.METRICS, os.path.join(out, CURVES)),
      "Probe accuracy over training": figures.curves(
          cells, [f"probe_top1_block{b}" for b in blocks], os.path.join(out, PROBE_CURVES)),
      "Probe accuracy against FID": blocks and figures.probe_vs_fid(
          cells, blocks[-1], os.path.join(out, PROBE_VS_FID))}
  montage_path, montage_seeds = figures.montage(cells, os.path.join(out, MONTAGE))
  figure_paths["Final samples (each cell's seed with the lowest final FID)"] = montage_path
  figure_paths = {title: path for title, path in figure_paths.items() if path}

  records = [record for grid in grids for record in grid.records()]
  paths["csv"] = os.path.join(out, CSV)
  with open(paths["csv"], "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
      writer.writerow(dict(record, values=json.dumps(_no_nan(record["values"])),
                           steps=json.dumps(record["steps"])))
  paths["json"] = os.path.join(out, JSON)
  with open(paths["json"], "w") as f:
    json.dump({"tables": [{"name": g.name, "title": g.title, "rows": g.rows,
                           "columns": g.columns,
                           "cells": [_no_nan(r) for r in g.records()]} for g in grids],
               "runs": [{"model_dir": r.model_dir, "cell": r.cell, "seed": r.seed,
                         "complete": r.complete, "final_step": r.final_step,
                         "protocol": r.protocol} for c in cells for r in c.runs],
               "montage_seeds": montage_seeds}, f, indent=1)
  paths["latex"] = os.path.join(out, LATEX)
  with open(paths["latex"], "w") as f:
    f.write("% \\usepackage{booktabs}\n" + "\n\n".join(tables.latex(g) for g in grids) + "\n")
  paths["markdown"] = os.path.join(out, MARKDOWN)
  with open(paths["markdown"], "w") as f:
    f.write("\n\n".join(
        [_MARKDOWN_NOTE] + [tables.markdown(g) for g in grids] +
        [f"### {title}\n\n![{title}]({os.path.basename(path)})"
         for title, path in figure_paths.items()]) + "\n")
  paths["hparams"] = hparams.write(cells, os.path.join(out, HPARAMS))
  paths.update({os.path.basename(p): p for p in figure_paths.values()})
  return paths


_MARKDOWN_NOTE = (
    "Each cell: mean ± std over seeds (sample std, n - 1) and the best seed's value (lowest "
    "FID/KID, highest probe accuracy), over complete runs only; `n=k/N` where only k of the "
    "N planned runs are complete. *final*: each run's last checkpoint; *best*: each run's "
    "own best checkpoint.")
