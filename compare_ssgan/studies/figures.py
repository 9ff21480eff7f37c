"""The report's PNG figures (matplotlib's Agg renderer), from complete runs only.

Curves are the mean over a cell's seeds with a min-max band, at the steps every one of
those seeds scored. Every cell keeps one colour and line style (or marker) in every figure,
distinct for up to 40 cells; the legend stands outside the plotted area; axis labels say
which direction is better and N; the title gives the protocol.
"""
import math

from matplotlib import colormaps
from matplotlib import figure as figure_lib
import numpy as np
from PIL import Image

from compare_ssgan.evaluation import results
from compare_ssgan.studies import tables

_COLOURS = colormaps["tab10"].colors  # A qualitative palette ...
_LINE_STYLES = ("-", "--", ":", "-.")  # ... and, past 10 cells, another line style
_MARKERS = ("o", "s", "^", "D")  # or marker.
_NAMES = {"fid": "FID", "kid": "KID"}


def style(index):
  """(colour, line style, marker) of the cell at `index`: distinct for 40 cells."""
  group = index // len(_COLOURS) % len(_LINE_STYLES)
  return _COLOURS[index % len(_COLOURS)], _LINE_STYLES[group], _MARKERS[group]


def axis_label(metric, n=None):
  """"FID ↓ (N = 2000)": the metric, its better direction, and N where it has one."""
  arrow = "↑" if results.higher_is_better(metric) else "↓"
  name = _NAMES.get(metric, metric.replace("probe_top1_", "probe top-1 accuracy, "))
  return f"{name} {arrow}" + (f" (N = {n})" if n else "")


def protocol(cells, scores_fakes=True):
  """One line: the runs' dataset, final steps and seeds, and where the figure scores
  generated samples (FID, KID) also their N and generator (raw or EMA); a probe reads D
  on reals only, so its figures leave those out."""
  runs = [r for c in cells for r in c.complete()]
  if not runs:
    return ""
  def join(values):
    return "/".join(str(v) for v in sorted(set(values), key=str))
  line = (f"{join(r.dataset for r in runs)}, {join(r.final_step for r in runs)} G steps, "
          f"seeds {join(r.seed for r in runs)}")
  if not scores_fakes:
    return line
  protocols = [r.protocol for r in runs if r.protocol]
  generator = join("EMA G" if p["use_ema"] else "raw G" for p in protocols)
  return (f"{line}, N = {join(p['n'] for p in protocols)} fakes vs N held-out reals, "
          f"{generator}")


def _figure(rows, columns, size):
  """A pyplot-free Figure (no global backend state; savefig renders with Agg)."""
  figure = figure_lib.Figure(figsize=size)
  return figure, figure.subplots(rows, columns, squeeze=False)


def _save(figure, path, title):
  """Title on top, one legend for all panels outside them on the right, then the PNG."""
  handles, labels = [], []
  for axis in figure.axes:
    for handle, label in zip(*axis.get_legend_handles_labels()):
      if label not in labels:
        handles.append(handle)
        labels.append(label)
  figure.suptitle(title, fontsize="small")
  figure.tight_layout()
  figure.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5),
                fontsize="small")
  figure.savefig(path, dpi=100, bbox_inches="tight")
  return path


def _n(cells):
  ns = {r.protocol["n"] for c in cells for r in c.complete() if r.protocol}
  return ns.pop() if len(ns) == 1 else None


def _y_label(cells, metric):
  """axis_label with FID's or KID's N; a probe's own train / test counts, where one."""
  if not results.PROBE_METRIC_RE.fullmatch(metric):
    return axis_label(metric, None if results.higher_is_better(metric) else _n(cells))
  counts = {tuple(r.values(f"probe_num_{part}").get(step) for part in ("train", "test"))
            for c in cells for r in c.complete() for step in r.values(metric)}
  label = axis_label(metric)
  if len(counts) == 1 and all(n is not None and math.isfinite(n) for n in next(iter(counts))):
    label += " ({:d} train / {:d} test reals)".format(*map(int, counts.pop()))
  return label


# Probe baselines drawn across each block's panel: (label, metric of the block's panel).
_BASELINES = (("baseline: random features, same width", "probe_top1_random_{block}", "k", "-."),
              ("baseline: raw pixels", "probe_top1_pixels", "k", ":"))


def _draw_baselines(axis, cells, metric):
  """Horizontal lines of the probe's baselines (the same reals in every run, so the first
  complete run that reported them stands for all)."""
  match = results.PROBE_METRIC_RE.fullmatch(metric)
  if not match:
    return
  for label, template, colour, line_style in _BASELINES:
    name = template.format(block=f"block{match.group(1)}")
    values = [r.values(name)[r.final_step] for c in cells for r in c.complete()
              if r.final_step in r.values(name)]
    if values:
      axis.axhline(values[0], color=colour, linestyle=line_style, linewidth=1, label=label)


def curves(cells, metrics, path):
  """One panel per metric, one line per cell (a probe block's panel also its baselines);
  returns `path`, or None if nothing to draw."""
  panels = [m for m in metrics if any(r.values(m) for c in cells for r in c.complete())]
  if not panels:
    return None
  figure, axes = _figure(1, len(panels), (5 * len(panels), 3.6))
  for axis, metric in zip(axes[0], panels):
    for index, cell in enumerate(cells):
      series = [r.values(metric) for r in cell.complete() if r.values(metric)]
      if not series:
        continue
      steps = sorted(set.intersection(*(set(s) for s in series)))
      values = np.array([[s[step] for step in steps] for s in series])
      colour, line_style, marker = style(index)
      axis.plot(steps, values.mean(axis=0), color=colour, linestyle=line_style,
                marker=marker, markersize=3,
                label=f"{cell.name} (n={len(series)}"
                + ("; band: min–max)" if len(series) > 1 else ")"))
      axis.fill_between(steps, values.min(axis=0), values.max(axis=0), alpha=0.15,
                        color=colour)
    _draw_baselines(axis, cells, metric)
    axis.set_xlabel("generator steps")
    axis.set_ylabel(_y_label(cells, metric))
  scores_fakes = not all(results.PROBE_METRIC_RE.fullmatch(m) for m in panels)
  return _save(figure, path, f"Mean over seeds: {protocol(cells, scores_fakes)}")


def probe_vs_fid(cells, metric, path):
  """A probe metric (the last block's, in reports) against FID, one point per scored
  checkpoint of each run (the steps at which a run has both)."""
  figure, axes = _figure(1, 1, (5, 4))
  axis = axes[0, 0]
  drawn = False
  for index, cell in enumerate(cells):
    points = [(fid, r.values(metric)[step]) for r in cell.complete()
              for step, fid in r.values("fid").items() if step in r.values(metric)]
    if points:
      colour, _, marker = style(index)
      axis.scatter(*zip(*points), s=14, color=colour, marker=marker,
                   label=f"{cell.name} ({len(points)} points)")
      drawn = True
  if not drawn:
    return None
  axis.set_xlabel(axis_label("fid", _n(cells)))
  axis.set_ylabel(_y_label(cells, metric))
  return _save(figure, path, f"One point per checkpoint scored with both, per run: "
                             f"{protocol(cells)}")


def _sample_grid(path):
  """The pixels of a run's sample grid; ValueError naming a file that is no readable PNG."""
  try:
    with Image.open(path) as image:
      pixels = np.asarray(image)
  except (OSError, SyntaxError) as e:  # PIL's errors for a damaged or truncated file.
    raise ValueError(f"{path}: not a readable sample grid ({e}); expected the PNG the "
                     "trainer writes under samples/.") from e
  if pixels.dtype != np.uint8:  # Drawn on a 0-255 scale: anything else would be wrong.
    raise ValueError(f"{path}: sample grid of {pixels.dtype} pixels; expected the 8-bit PNG "
                     "the trainer writes under samples/.")
  return pixels


def montage(cells, path):
  """Each cell's final sample grid, from its seed with the lowest final FID.

  Returns (path or None, [collect.Run shown], [names of the cells with a best seed whose
  grid is not available]); the figure names those too.
  """
  shown, missing = [], []
  for cell in cells:
    best = tables.stat(cell, "fid", "final").best_seed
    found = [run for run in cell.complete() if run.seed == best and run.samples][:1]
    shown += found
    if best is not None and not found:
      missing.append(cell.name)
  if not shown:
    return None, [], missing
  images = [_sample_grid(run.samples) for run in shown]  # Every one read before drawing.
  columns = min(4, len(shown))
  rows = math.ceil(len(shown) / columns)
  figure, axes = _figure(rows, columns, (3 * columns, 3.3 * rows))
  for axis in axes.flat:
    axis.axis("off")
  for axis, run, image in zip(axes.flat, shown, images):
    axis.imshow(image, cmap="gray", vmin=0, vmax=255)  # cmap only for grayscale grids.
    axis.set_title(f"{run.cell} (seed {run.seed})", fontsize="small")
  figure.suptitle(f"Final samples of each cell's seed with the lowest final FID: "
                  f"{protocol(cells)}" + (f"\nNot available: {', '.join(missing)}"
                                          if missing else ""), fontsize="small")
  figure.tight_layout()
  figure.savefig(path, dpi=100, bbox_inches="tight")
  return path, shown, missing

