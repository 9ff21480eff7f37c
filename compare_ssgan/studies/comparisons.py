"""Each cell against the baseline cell (and chosen pairs of cells), with the statistics a
reviewer asks for.

Seeds shared by the two cells pair their runs (the same data order and initial draws), so
the difference is taken per seed: its mean with a 95 % confidence interval from Student's t
(and from a percentile bootstrap, from BOOTSTRAP_MIN_SEEDS seeds on), a paired t-test, and
the effect size d_z (mean difference over the standard deviation of the differences).
Cells without two shared seeds are compared unpaired by Welch's t-test. The p-values of one
metric are corrected by Holm's method over the cells compared with the baseline, and
separately over the chosen pairs. With fewer than two values on a side there is no
interval, and the comparison says why.
"""
import dataclasses
import math
from typing import Dict, List, Optional

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10000
# Below this the percentile bootstrap of a mean is too narrow to report: 3 values have only
# 10 distinct resamples, and for normal differences its width is about
# 1.96 * sqrt((n - 1) / n) / t(n - 1) of the t interval's (0.37 at n = 3, 0.82 at n = 10).
BOOTSTRAP_MIN_SEEDS = 10
_BOOTSTRAP_SEED = 0  # Fixed: a report is the same every time it is written.


@dataclasses.dataclass
class Comparison:
  """`cell` minus `baseline` for one metric."""
  cell: str
  baseline: str
  metric: str
  test: Optional[str]  # "paired t", "Welch t", or None (see `reason`).
  n: int  # Shared seeds (paired) or the smaller cell's count (Welch).
  difference: float = math.nan
  ci_t: tuple = (math.nan, math.nan)
  ci_bootstrap: tuple = (math.nan, math.nan)
  p: float = math.nan
  p_holm: float = math.nan
  effect_size: float = math.nan
  per_seed: Dict[str, float] = dataclasses.field(default_factory=dict)
  reason: str = ""

  @property
  def detected(self):
    """Whether the t interval excludes 0."""
    low, high = self.ci_t
    return not (math.isnan(low) or low <= 0 <= high)


def _t_interval(mean, standard_error, dof):
  half = stats.t.ppf(0.5 + CONFIDENCE / 2, dof) * standard_error
  return (mean - half, mean + half)


def mean_interval(values):
  """The mean of `values` (one per seed) and its 95 % Student's t interval:
  (mean, low, high); the interval is (nan, nan) with fewer than 2 values."""
  values = np.asarray(values, np.float64)
  if not len(values):
    raise ValueError("mean_interval: no values; expected one or more (one per seed).")
  mean = float(values.mean())
  if len(values) < 2:
    return mean, math.nan, math.nan
  low, high = _t_interval(mean, float(values.std(ddof=1)) / math.sqrt(len(values)),
                          len(values) - 1)
  return mean, float(low), float(high)


def _bootstrap_interval(values):
  rng = np.random.default_rng(_BOOTSTRAP_SEED)
  resampled = rng.choice(values, size=(BOOTSTRAP_RESAMPLES, len(values)), replace=True)
  tail = (1 - CONFIDENCE) / 2 * 100
  low, high = np.percentile(resampled.mean(axis=1), [tail, 100 - tail])
  return (float(low), float(high))


def paired(cell, baseline, metric, cell_values, baseline_values):
  """The paired comparison over the seeds both cells have ({seed: value} each)."""
  seeds = sorted(set(cell_values) & set(baseline_values), key=str)
  diffs = np.array([cell_values[s] - baseline_values[s] for s in seeds], np.float64)
  found = Comparison(cell, baseline, metric, "paired t", len(seeds),
                     per_seed={str(s): float(d) for s, d in zip(seeds, diffs)})
  if len(seeds) < 2:
    found.test = None
    found.difference = float(diffs.mean()) if len(seeds) else math.nan
    found.reason = (f"{len(seeds)} shared seed{'s' if len(seeds) != 1 else ''}: a "
                    "confidence interval needs at least 2")
    return found
  not_finite = [s for s, d in zip(seeds, diffs) if not math.isfinite(d)]
  if not_finite:
    found.test = None
    found.reason = f"not a finite value at seeds {not_finite}"
    return found
  found.difference = float(diffs.mean())
  sd = float(diffs.std(ddof=1))
  found.ci_t = _t_interval(found.difference, sd / math.sqrt(len(diffs)), len(diffs) - 1)
  if len(diffs) >= BOOTSTRAP_MIN_SEEDS:
    found.ci_bootstrap = _bootstrap_interval(diffs)
  found.p = float(stats.ttest_rel(
      [cell_values[s] for s in seeds], [baseline_values[s] for s in seeds]).pvalue)
  found.effect_size = found.difference / sd if sd > 0 else math.nan
  return found


def welch(cell, baseline, metric, cell_values, baseline_values):
  """The unpaired comparison of two cells' values (lists), by Welch's t-test."""
  a, b = np.asarray(cell_values, np.float64), np.asarray(baseline_values, np.float64)
  found = Comparison(cell, baseline, metric, "Welch t", min(len(a), len(b)))
  found.difference = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
  if min(len(a), len(b)) < 2:
    found.test = None
    found.reason = "a confidence interval needs at least 2 seeds in each cell"
    return found
  if not (np.isfinite(a).all() and np.isfinite(b).all()):
    found.test = None
    found.reason = "a value that is not finite"
    return found
  var_a, var_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
  standard_error = math.sqrt(var_a + var_b)
  dof = (var_a + var_b) ** 2 / (var_a ** 2 / (len(a) - 1) + var_b ** 2 / (len(b) - 1))
  found.ci_t = _t_interval(found.difference, standard_error, dof)
  found.p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
  pooled = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
  found.effect_size = found.difference / pooled if pooled > 0 else math.nan
  return found


def holm(p_values):
  """Holm's step-down adjusted p-values (NaN stays NaN and is not counted)."""
  finite = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
  adjusted = [math.nan] * len(p_values)
  running = 0.0
  for rank, (p, index) in enumerate(finite):
    running = max(running, min(1.0, (len(finite) - rank) * p))
    adjusted[index] = running
  return adjusted


def compare(values_by_cell, baseline, metric):
  """Every other cell against `baseline` ({cell: {seed: value}}), Holm-corrected."""
  return compare_pairs(values_by_cell, [(cell, baseline) for cell in values_by_cell
                                        if cell != baseline], metric)


def compare_pairs(values_by_cell, pairs, metric):
  """Each (cell, reference) of `pairs` ({cell: {seed: value}}), Holm-corrected over the
  pairs; paired over shared seeds where there are two or more, else Welch."""
  found = []
  for cell, reference in pairs:
    values, base = values_by_cell[cell], values_by_cell[reference]
    if len(set(values) & set(base)) >= 2:
      found.append(paired(cell, reference, metric, values, base))
    else:
      found.append(welch(cell, reference, metric, list(values.values()),
                         list(base.values())))
  return correct(found)


def correct(found):
  """Sets each comparison's Holm p over `found`; returns `found`."""
  for comparison, adjusted in zip(found, holm([c.p for c in found])):
    comparison.p_holm = adjusted
  return found


def family_size(found):
  """How many comparisons Holm's correction ran over: those with a p-value."""
  return sum(not math.isnan(c.p) for c in found)


def format_p(p):
  """A p-value to 3 decimals; "< 0.001" below that, "—" when there is none."""
  if math.isnan(p):
    return "—"
  return "< 0.001" if p < 0.0005 else f"{p:.3f}"


def _p_clause(p):
  shown = format_p(p)
  return shown if shown.startswith("<") else f"= {shown}"


def sentence(comparison, unit, decimals, family="the cells"):
  """The comparison in words, from its numbers alone; `family`: what Holm's correction ran
  over, named where the interval excludes 0 but the corrected p does not stay below
  1 - CONFIDENCE."""
  fmt = f".{decimals}f"
  head = (f"{comparison.cell} − {comparison.baseline} = "
          f"{comparison.difference:+{fmt}} {unit}")
  if comparison.test is None:
    return f"{head} ({comparison.reason}; no claim)."
  low, high = comparison.ci_t
  numbers = (f"{head}, 95 % CI [{low:{fmt}}, {high:{fmt}}] ({comparison.test}, "
             f"n = {comparison.n}, p {_p_clause(comparison.p)}, "
             f"Holm p {_p_clause(comparison.p_holm)})")
  if comparison.detected:
    alpha = 1 - CONFIDENCE
    if comparison.p_holm >= alpha:
      return (f"{numbers}: the interval excludes 0, but not after Holm's correction over "
              f"{family} (Holm p ≥ {alpha:.2f}).")
    return f"{numbers}: the interval excludes 0."
  return f"{numbers}: the interval includes 0, so no difference was detected at this sample size."


def records(comparisons: List[Comparison]):
  """JSON-ready dicts."""
  return [dict(dataclasses.asdict(c), detected=c.detected) for c in comparisons]
