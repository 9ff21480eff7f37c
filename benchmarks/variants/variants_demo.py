r"""Trains every GAN variant's offline demo a few hundred steps and reports what it logged.

  python benchmarks/variants/variants_demo.py [--steps=300] [--variants=ssgan,cntr] \
      [--model_root=DIR]

Each variant is `gin_configs/demo/<name>.gin` (embedded Fashion-MNIST, small DCGAN, batch
64). The final losses and the self-supervised accuracies are read back from the run's
TensorBoard events, next to their chance level, with the wall time of each run.
"""
import math
import os
import tempfile
import time

from absl import app
from absl import flags
import gin

from compare_ssgan import gin_files
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import summaries
from compare_ssgan.training import trainer as trainer_lib

VARIANTS = ("uncond_gan", "cond_gan", "ssgan", "ssgan_sbn", "cr", "icr", "cntr",
            "cntr_reals_only", "augment_both", "infogan")
# Accuracy tag -> chance level at the demo's batch of 64.
ACCURACIES = {"rotation_accuracy": 1 / 4, "contrastive_accuracy": 1 / (2 * 64 - 1),
              "info_categorical_accuracy": 1 / 10}
LOSSES = ("d_loss", "g_loss", "rotation_real_loss", "rotation_fake_loss", "cr_real",
          "bcr_real", "bcr_fake", "zcr_d", "zcr_g", "contrastive_real_loss",
          "contrastive_fake_loss", "info_categorical_loss")

flags.DEFINE_integer("steps", 300, "G steps per variant.", lower_bound=1)
flags.DEFINE_list("variants", list(VARIANTS), "Demo configs to run.")
flags.DEFINE_string("model_root", None, "Where runs go (default: a temporary directory).")
FLAGS = flags.FLAGS


def run_variant(name, model_dir, steps):
  gin.clear_config()
  every = max(steps // 6, 1)
  gin_files.parse_gin([f"gin_configs/demo/{name}.gin"], [
      f"Trainer.training_steps = {steps}", f"Trainer.steps_per_loop = {every}",
      f"Trainer.summary_steps = {every}", f"Trainer.save_checkpoints_steps = {steps}",
      f"Trainer.image_summary_steps = {steps}"])
  start = time.time()
  trainer_lib.Trainer(model_dir, strategy_lib.make_strategy()).train()
  return time.time() - start, summaries.read_scalars(model_dir)


def report(name, seconds, scalars):
  lines = [f"== {name}: {seconds:.0f} s"]
  finite = all(math.isfinite(v) for series in scalars.values() for _, v in series)
  losses = ", ".join(f"{tag} {scalars[tag][-1][1]:.4g}" for tag in LOSSES if tag in scalars)
  lines.append(f"   final: {losses}; all logged values finite: {finite}")
  for tag, chance in ACCURACIES.items():
    if tag in scalars:
      curve = " ".join(f"{step}:{value:.3f}" for step, value in scalars[tag])
      lines.append(f"   {tag} (chance {chance:.3f}): {curve}")
  return "\n".join(lines)


def main(argv):
  del argv
  unknown = sorted(set(FLAGS.variants) - set(VARIANTS))
  if unknown:
    raise app.UsageError(f"Unknown variants {unknown}; known: {', '.join(VARIANTS)}.")
  root = FLAGS.model_root or tempfile.mkdtemp(prefix="variants_demo_")
  total = time.time()
  for name in FLAGS.variants:
    seconds, scalars = run_variant(name, os.path.join(root, name), FLAGS.steps)
    print(report(name, seconds, scalars), flush=True)
  print(f"total wall time {time.time() - total:.0f} s; runs in {root}")


if __name__ == "__main__":
  app.run(main)
