"""Statistics over seeds and the report's tables (text, Markdown, LaTeX, records).

Each table cell is "mean ± std (best B)" over the cell's complete runs, std with n - 1
(sample std), best = the best seed's value (lowest FID/KID, highest probe accuracy);
" n=k/N" is appended when only k of the N planned runs are complete; a cell with none is
"not run (n=0/N)" (no run started) or "incomplete (n=0/N)" (runs started, none complete):
numbers are never averaged over a different set of seeds silently.
"""
import dataclasses
import math
import statistics
from typing import Dict, List, Optional, Tuple

from compare_ssgan.evaluation import results
from compare_ssgan.studies import study_file

METRICS = ("fid", "kid")
# Precision / recall / density / coverage, in their own table where the runs have them.
MANIFOLD_METRICS = ("precision", "recall", "density", "coverage")
POINTS = ("final", "best")  # The run's final step; each run's own best step.
# The probe's rows besides each cell's D at the final step (metrics/probe.py's baselines).
PROBE_BASELINE_ROWS = (("untrained D (step 0)", "{block}", "step0"),
                       ("random features, same width", "random_{block}", "final"),
                       ("raw pixels (any width)", "pixels", "final"))
_DECIMALS = {"fid": 2, "kid": 4, "inception_score": 2}
_ACCURACY_DECIMALS = 3  # Probe accuracies and the manifold scores: shares of samples.


def decimals(metric):
  if metric in _DECIMALS:
    return _DECIMALS[metric]
  return _ACCURACY_DECIMALS if results.higher_is_better(metric) else 4


def run_value(run, metric, point):
  """(step, value) of a complete run at its final or best step; None if not scored."""
  values = run.values(metric)
  if not run.complete or not values:
    return None
  if point == "final":
    return (run.final_step, values[run.final_step]) if run.final_step in values else None
  if point == "step0":  # The untrained networks.
    return (0, values[0]) if 0 in values else None
  finite = [(step, v) for step, v in values.items() if not math.isnan(v)]
  if not finite:
    return (run.final_step, math.nan)
  sign = -1 if results.higher_is_better(metric) else 1
  return min(finite, key=lambda item: (sign * item[1], item[0]))


_NOT_RUN, _INCOMPLETE = "not run", "incomplete"
_UNFINISHED = (_NOT_RUN, _INCOMPLETE)


@dataclasses.dataclass
class Stat:
  """A metric over the complete seeds of one cell."""
  metric: str
  point: str
  planned: int
  values: Dict[Optional[int], float]  # {seed: value}
  steps: Dict[Optional[int], int]  # {seed: the step of its value}
  # Why a cell without a value has none: its runs do not compute the metric, or
  # none is complete ("not run", "incomplete").
  unscored: str = ""

  @property
  def n(self):
    return len(self.values)

  @property
  def mean(self):
    return statistics.fmean(self.values.values()) if self.values else math.nan

  @property
  def std(self):
    return statistics.stdev(self.values.values()) if self.n >= 2 else math.nan

  @property
  def best_seed(self):
    if not self.values:
      return None
    sign = -1 if results.higher_is_better(self.metric) else 1
    return min(self.values, key=lambda s: (math.isnan(self.values[s]),
                                           sign * self.values[s], str(s)))

  @property
  def best(self):
    return self.values[self.best_seed] if self.values else math.nan

  def text(self):
    count = f"n={self.n}/{self.planned}"
    if not self.values:
      return f"{self.unscored} ({count})" if self.unscored in _UNFINISHED else self.unscored
    fmt = f".{decimals(self.metric)}f"
    if self.n == 1:
      shown = format(self.mean, fmt)
    else:
      shown = f"{self.mean:{fmt}} ± {self.std:{fmt}} (best {self.best:{fmt}})"
    return shown if self.n == self.planned else f"{shown} {count}"

  def record(self):
    return {"metric": self.metric, "point": self.point, "n": self.n,
            "planned": self.planned, "mean": self.mean, "std": self.std,
            "best": self.best, "best_seed": self.best_seed,
            "values": {str(s): v for s, v in self.values.items()},
            "steps": {str(s): step for s, step in self.steps.items()}}


def stat(cell_runs, metric, point):
  values, steps = {}, {}
  for run in cell_runs.complete():
    found = run_value(run, metric, point)
    if found is not None:
      steps[run.seed], values[run.seed] = found
  unscored = ""
  if not values and cell_runs.complete():  # Complete runs without it: by design.
    probed = any(run.probe_blocks() for run in cell_runs.complete())
    unscored = "not scored (probe only)" if probed else "not scored"
  elif not values:
    unscored = _INCOMPLETE if cell_runs.runs else _NOT_RUN
  return Stat(metric, point, cell_runs.planned, values, steps, unscored)


@dataclasses.dataclass
class Grid:
  """One table: rows x columns of (cell name, Stat); None where the layout has no cell."""
  name: str
  title: str
  corner: str
  rows: List[str]
  columns: List[str]
  entries: Dict[Tuple[str, str], Tuple[str, Stat]]

  def text_rows(self):
    """[header, *rows] of strings."""
    return [[self.corner, *self.columns]] + [
        [row, *(self.entries[(row, c)][1].text() if (row, c) in self.entries else ""
                for c in self.columns)] for row in self.rows]

  def records(self):
    return [dict(table=self.name, row=row, column=column, cell=cell, **s.record())
            for (row, column), (cell, s) in self.entries.items()]


def _label(metric, point):
  return f"{metric.upper()} ({point})"


def grids(cells):
  """The report's tables: summary, each paper table per metric and point, the probe table."""
  by_name = {cell.name: cell for cell in cells}
  found = [Grid("summary", "All cells", "cell", [c.name for c in cells],
                [_label(m, p) for m in METRICS for p in POINTS],
                {(c.name, _label(m, p)): (c.name, stat(c, m, p))
                 for c in cells for m in METRICS for p in POINTS})]
  layouts = study_file.table_layouts([(c.name, c.tables) for c in cells])
  for table, (rows, columns) in layouts.items():
    positions = {pos: cell.name for cell in cells
                 for t, pos in cell.tables.items() if t == table}
    for metric in METRICS:
      for point in POINTS:
        found.append(Grid(f"{table}_{metric}_{point}",
                          f"{table}: {metric.upper()} at the {point} step", "", rows, columns,
                          {pos: (name, stat(by_name[name], metric, point))
                           for pos, name in positions.items()}))
  manifold_metrics = [m for m in MANIFOLD_METRICS
                      if any(r.values(m) for c in cells for r in c.runs)]
  scored = [c for c in cells if any(r.values(m) for r in c.runs for m in manifold_metrics)]
  if manifold_metrics:
    found.append(Grid("prdc", "Precision, recall, density and coverage on "
                      "Inception features at the final step", "cell", [c.name for c in scored],
                      manifold_metrics, {(c.name, m): (c.name, stat(c, m, "final"))
                                         for c in scored for m in manifold_metrics}))
  blocks = sorted({b for c in cells for r in c.runs for b in r.probe_blocks()})
  probed = [c for c in cells if any(r.probe_blocks() for r in c.runs)]
  if blocks:
    columns = [f"block{b}" for b in blocks]
    entries = {(c.name, col): (c.name, stat(c, f"probe_top1_{col}", "final"))
               for c in probed for col in columns}
    rows = [c.name for c in probed]
    for c in probed:  # Baselines: the cell's untrained D, then width and pixels alone.
      for label, metric, point in PROBE_BASELINE_ROWS:
        found_row = {col: stat(c, "probe_top1_" + metric.format(block=col), point)
                     for col in columns}
        if any(s.values for s in found_row.values()):
          row = f"{c.name}: {label}"
          rows.append(row)
          entries.update({(row, col): (c.name, s) for col, s in found_row.items()})
    found.append(Grid("probe", "Probe top-1 accuracy of D's features at the final step, "
                      "with baselines", "cell", rows, columns, entries))
  return found


def plain_text(grid):
  lines = grid.text_rows()
  widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
  return "\n".join([grid.title] + ["  ".join(value.ljust(width) for value, width
                                             in zip(line, widths)).rstrip()
                                   for line in lines])


def markdown(grid):
  header, *rows = grid.text_rows()
  return "\n".join([f"### {grid.title}", "", markdown_row(header),
                    markdown_row(["---"] * len(header))] + [markdown_row(r) for r in rows])


def markdown_row(values):
  """One row of a Markdown table, its cells' own "|" escaped."""
  return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\^{}", "±": r"$\pm$"}


def _latex(text):
  return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def latex(grid):
  """A booktabs table."""
  header, *rows = grid.text_rows()
  body = [" & ".join(_latex(v) for v in row) + r" \\" for row in rows]
  return "\n".join([r"\begin{table}[t]", r"\centering", f"\\caption{{{_latex(grid.title)}}}",
                    f"\\begin{{tabular}}{{l{'c' * (len(header) - 1)}}}", r"\toprule",
                    " & ".join(_latex(v) for v in header) + r" \\", r"\midrule", *body,
                    r"\bottomrule", r"\end{tabular}", r"\end{table}"])
