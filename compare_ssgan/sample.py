"""Writes N seeded samples of an exported generator or a run's latest checkpoint.

  python -m compare_ssgan.sample --source=runs/x/export/5000 --num=10000 --seed=0 \
      --out=fakes.npz [--truncation=0.5]
  python -m compare_ssgan.sample --source=runs/x --num=64 --out=samples/

An `.npz` gets `images` (float32 NHWC in [0, 1], unrounded, as the two-set compare command
reads it) and, for a conditional generator, `labels`; a directory gets one PNG a sample.
"""
import io
import os

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from compare_ssgan import export as export_lib
from compare_ssgan.training import summaries

flags.DEFINE_string("source", None, "An export directory (--mode=export) or a model_dir.",
                    required=True)
flags.DEFINE_integer("num", None, "How many samples.", required=True, lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of z (and labels): the same seed, the same samples.")
flags.DEFINE_float("truncation", None, "Draw z truncated to [-t, t] (default: the run's "
                   "evaluation truncation, metadata.json z_truncation).", lower_bound=0)
flags.DEFINE_string("out", None, "file.npz, or a directory for PNGs.", required=True)
flags.DEFINE_integer("batch_size", 64, "Generator batch size.", lower_bound=1)
FLAGS = flags.FLAGS


def write_npz(path, images, labels):
  arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  tf.io.gfile.makedirs(os.path.dirname(path) or ".")
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(buffer.getvalue())


def write_pngs(directory, images):
  tf.io.gfile.makedirs(directory)
  digits = len(str(len(images) - 1))
  for index, image in enumerate(images):
    summaries.write_png(os.path.join(directory, f"{index:0{digits}d}.png"),
                        summaries.image_grid(image[None], num_columns=1))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if FLAGS.truncation == 0:
    raise app.UsageError("--truncation must be > 0.")
  suffix = os.path.splitext(FLAGS.out.rstrip("/"))[1]
  if suffix and suffix != ".npz":
    raise app.UsageError(f"--out={FLAGS.out}: expected a .npz file or a directory for PNGs.")
  images, labels = export_lib.sample(FLAGS.source, FLAGS.num, FLAGS.seed, FLAGS.truncation,
                                     FLAGS.batch_size)
  if FLAGS.out.endswith(".npz"):
    write_npz(FLAGS.out, images, labels)
  else:
    write_pngs(FLAGS.out, images)
  print(f"Wrote {len(images)} samples to {FLAGS.out}")


if __name__ == "__main__":
  app.run(main)
