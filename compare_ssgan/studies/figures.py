"""The report's PNG figures (matplotlib's Agg renderer), from complete runs only.

Curves are the mean over a cell's seeds with a min-max band, at the steps every one of
those seeds scored.
"""
import math
import os

from matplotlib import figure as figure_lib
import numpy as np
from PIL import Image

from compare_ssgan import run_dir
from compare_ssgan.studies import tables


def _figure(rows, columns, size):
  """A pyplot-free Figure (no global backend state; savefig renders with Agg)."""
  figure = figure_lib.Figure(figsize=size)
  return figure, figure.subplots(rows, columns, squeeze=False)


def _save(figure, path):
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  return path


def curves(cells, metrics, path):
  """One panel per metric, one line per cell; returns `path`, or None if nothing to draw."""
  panels = [m for m in metrics if any(r.values(m) for c in cells for r in c.complete())]
  if not panels:
    return None
  figure, axes = _figure(1, len(panels), (5 * len(panels), 3.6))
  for axis, metric in zip(axes[0], panels):
    for cell in cells:
      series = [r.values(metric) for r in cell.complete() if r.values(metric)]
      if not series:
        continue
      steps = sorted(set.intersection(*(set(s) for s in series)))
      values = np.array([[s[step] for step in steps] for s in series])
      line, = axis.plot(steps, values.mean(axis=0), marker=".",
                        label=f"{cell.name} (n={len(series)})")
      axis.fill_between(steps, values.min(axis=0), values.max(axis=0), alpha=0.2,
                        color=line.get_color())
    axis.set_xlabel("generator steps")
    axis.set_ylabel(metric)
    axis.legend(fontsize="small")
  return _save(figure, path)


def probe_vs_fid(cells, block, path):
  """Probe accuracy of the last block against FID, one point per checkpoint and seed."""
  metric = f"probe_top1_block{block}"
  figure, axes = _figure(1, 1, (5, 4))
  axis = axes[0, 0]
  drawn = False
  for cell in cells:
    points = [(fid, r.values(metric)[step]) for r in cell.complete()
              for step, fid in r.values("fid").items() if step in r.values(metric)]
    if points:
      axis.scatter(*zip(*points), s=12, label=cell.name)
      drawn = True
  if not drawn:
    return None
  axis.set_xlabel("FID")
  axis.set_ylabel(f"probe top-1 accuracy (block {block})")
  axis.legend(fontsize="small")
  return _save(figure, path)


def montage(cells, path):
  """Each cell's final sample grid, from its seed with the lowest final FID.

  Returns (path or None, {cell: seed shown}).
  """
  shown = []
  for cell in cells:
    best = tables.stat(cell, "fid", "final").best_seed
    for run in cell.complete():
      sample = run_dir.samples_path(run.model_dir, run.final_step)
      if run.seed == best and os.path.exists(sample):
        shown.append((cell.name, run.seed, sample))
        break
  if not shown:
    return None, {}
  columns = min(4, len(shown))
  rows = math.ceil(len(shown) / columns)
  figure, axes = _figure(rows, columns, (3 * columns, 3.3 * rows))
  for axis in axes.flat:
    axis.axis("off")
  for axis, (name, seed, sample) in zip(axes.flat, shown):
    image = np.asarray(Image.open(sample))
    axis.imshow(image, cmap="gray", vmin=0, vmax=255)  # cmap only for grayscale grids.
    axis.set_title(f"{name} (seed {seed})", fontsize="small")
  return _save(figure, path), {name: seed for name, seed, _ in shown}

