"""One run's summary: FID/KID (and the probe) at its final and its best step, and its
curves PNG (run_dir.curves_path); `main --mode=train_and_eval` prints and writes them.

Many runs are summarised over seeds by the study report (compare_ssgan.studies).
"""
import math

from matplotlib import figure as figure_lib

from compare_ssgan import run_dir
from compare_ssgan.evaluation import results

CURVE_METRICS = ("fid", "kid")
_NAMES = {"fid": "FID", "kid": "KID"}
_DECIMALS = {"fid": 2, "kid": 4}


def _final_and_best(series, metric):
  """((final step, value), (best step, value)) of a metric's {step: value}."""
  values = series[metric]
  final = max(values)
  finite = [(step, v) for step, v in values.items() if not math.isnan(v)]
  if not finite:
    return (final, values[final]), (final, math.nan)
  sign = -1 if results.higher_is_better(metric) else 1
  return (final, values[final]), min(finite, key=lambda item: (sign * item[1], item[0]))


def _metrics(series):
  """The summarised metrics present: FID, KID, then the probe of D's last block."""
  probes = sorted((m for m in series if results.PROBE_METRIC_RE.fullmatch(m)),
                  key=lambda m: int(results.PROBE_METRIC_RE.fullmatch(m).group(1)))
  return [m for m in CURVE_METRICS if series.get(m)] + probes[-1:]


def table(model_dir):
  """The summary as plain text: each metric at the run's final and at its best step."""
  series, protocol = results.metric_series(model_dir)
  metrics = _metrics(series)
  if not metrics:
    return f"{model_dir}: no evaluation rows yet."
  lines = []
  for metric in metrics:
    decimals = _DECIMALS.get(metric, 3)
    name = _NAMES.get(metric, metric)
    for point, (step, value) in zip(("final", "best"), _final_and_best(series, metric)):
      lines.append((f"{name} ({point})", f"{value:.{decimals}f}", f"at step {step}"))
  widths = [max(len(line[i]) for line in lines) for i in range(2)]
  generator = "EMA generator" if protocol["use_ema"] else "generator"
  return "\n".join([f"{model_dir}: {generator}, N = {protocol['n']}"] + [
      f"{label:{widths[0]}}  {value:>{widths[1]}}  {where}" for label, value, where in lines])


def curves(model_dir):
  """FID and KID over training, one panel each; returns the PNG's path, or None if the run
  has neither."""
  series, protocol = results.metric_series(model_dir)
  metrics = [m for m in CURVE_METRICS if series.get(m)]
  if not metrics:
    return None
  figure = figure_lib.Figure(figsize=(5 * len(metrics), 3.6))
  axes = figure.subplots(1, len(metrics), squeeze=False)[0]
  for axis, metric in zip(axes, metrics):
    steps = sorted(series[metric])
    axis.plot(steps, [series[metric][step] for step in steps], marker=".")
    axis.set_xlabel("generator steps")
    axis.set_ylabel(f"{_NAMES[metric]} (lower is better), N = {protocol['n']}")
  figure.suptitle(model_dir)
  figure.tight_layout()
  path = run_dir.curves_path(model_dir)
  figure.savefig(path, dpi=100)
  return path


def summarize(model_dir):
  """Writes the curves PNG and returns the table."""
  curves(model_dir)
  return table(model_dir)
