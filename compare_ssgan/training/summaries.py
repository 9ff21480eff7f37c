"""TensorBoard scalars and image grids, sample-grid PNGs, console progress."""
import glob
import io
import math
import os
import time

from absl import logging
import numpy as np
from PIL import Image
import tensorflow as tf


def image_grid(images, num_columns=None):
  """Tiles float images [N, H, W, C] in [0, 1] into one uint8 [rows*H, cols*W, C] image."""
  images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
  n, h, w, c = images.shape
  cols = num_columns or int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / cols))
  grid = np.zeros([rows * h, cols * w, c], np.float32)
  for index, image in enumerate(images):
    r, col = divmod(index, cols)
    grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
  return np.round(grid * 255.0).astype(np.uint8)


def write_png(path, grid):
  """Writes a uint8 grid as PNG to any tf.io.gfile path."""
  mode_image = grid[..., 0] if grid.shape[-1] == 1 else grid
  buffer = io.BytesIO()
  Image.fromarray(mode_image).save(buffer, format="PNG")
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(buffer.getvalue())


class Progress:
  """Logs steps/s and ETA; also returns the rate for TensorBoard."""

  def __init__(self, start_step, total_steps):
    self._total = total_steps
    self.start_step = start_step
    self._last_step = start_step
    self._last_time = time.time()

  def update(self, step, scalars):
    now = time.time()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self._total - step) / rate if rate > 0 else float("inf")
    shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(scalars.items()))
    logging.info("step %d/%d (%.1f%%) %.2f steps/s ETA %s | %s", step, self._total,
                 100.0 * step / self._total, rate, _format_seconds(eta), shown)
    return rate


def _format_seconds(seconds):
  if not math.isfinite(seconds):
    return "?"
  minutes, secs = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours:d}:{minutes:02d}:{secs:02d}"


def write_scalars(writer, step, scalars):
  with writer.as_default(step=step):
    for name, value in scalars.items():
      tf.summary.scalar(name, value)


def write_images(writer, step, name, grid):
  with writer.as_default(step=step):
    tf.summary.image(name, grid[None], max_outputs=1)


def read_scalars(model_dir):
  """{tag: [(step, value)]} from the TensorBoard event files in `model_dir`."""
  scalars = {}
  for path in sorted(glob.glob(os.path.join(model_dir, "events.out.tfevents*"))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.HasField("tensor") and not value.tensor.string_val:
          scalars.setdefault(value.tag, []).append(
              (event.step, float(tf.make_ndarray(value.tensor))))
  return scalars
