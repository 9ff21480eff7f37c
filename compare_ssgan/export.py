"""Ships a trained generator: a TF SavedModel any TF program can load, and seeded samples.

The SavedModel (`export`) needs neither compare_ssgan nor gin to run:

  generator = tf.saved_model.load(export_dir).signatures["serving_default"]
  images = generator(z=z)["images"]                # conditional: generator(z=z, labels=y)

  z       float32 [N, z_dim], drawn from the run's prior (metadata.json: z_distribution)
  labels  int32 [N] class ids in [0, num_classes), only for a conditional generator
  images  float32 [N, H, W, C] in [0, 1]

Truncation is a rule for drawing z (compare_ssgan.gans.latents: a normal z truncated to
[-t, t] by inverse CDF, a uniform z from U[-t, t]), not an operation on a given z, so the
signature takes z as drawn; `sample` and `--mode=sample` draw it with
`latents.seeded_latents`, the evaluator's convention (seed s gives the evaluator's fakes of
seed s), with the run's evaluation truncation (metadata.json: z_truncation) or another one.
Next to the SavedModel, metadata.json holds what a user needs to draw z and read the
images, the step, and the run's config.gin.

`write_samples` writes samples as an `.npz` (`images` float32 NHWC in [0, 1], unrounded, as
the two-set compare command reads it, and `labels` for a conditional generator) or as one
PNG a sample in a directory.
"""
import io
import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan import runs
from compare_ssgan.evaluation import evaluator
from compare_ssgan.gans import latents
from compare_ssgan.training import summaries

METADATA = "metadata.json"
SIGNATURE = "serving_default"
_SAVED_MODEL = "saved_model.pb"


class _ServingGenerator(tf.Module):
  """The generator behind a serving signature of z (and labels) -> images in [0, 1]."""

  def __init__(self, generator, z_dim, num_classes):
    super().__init__()
    # Tracks the variables, not the Keras model: saving a tracked Keras model traces its own
    # default signature, which a conditional generator fails without labels.
    self.generator_variables = list(generator.variables)
    z_spec = tf.TensorSpec([None, z_dim], tf.float32, name="z")
    if num_classes:
      self.serve = tf.function(
          lambda z, labels: {"images": generator(z, labels, training=False)},
          input_signature=[z_spec, tf.TensorSpec([None], tf.int32, name="labels")])
    else:
      self.serve = tf.function(lambda z: {"images": generator(z, None, training=False)},
                               input_signature=[z_spec])


def _metadata(model_dir, sampler):
  prior = sampler.prior
  height, width, channels = sampler.image_shape
  with tf.io.gfile.GFile(run_dir.config_path(model_dir)) as f:
    gin_config = f.read()
  return {
      "signature": SIGNATURE, "step": sampler.step, "checkpoint": sampler.checkpoint_path,
      "use_ema": sampler.use_ema, "z_dim": prior.z_dim, "z_distribution": prior.distribution,
      "z_truncation": prior.truncation, "z_latent_terms": sampler.gan.latent_terms(),
      "num_classes": sampler.num_classes, "conditional": bool(prior.num_classes),
      "resolution": [height, width], "channels": channels, "image_range": [0.0, 1.0],
      "sample_batch_size": evaluator.EvalOptions().sample_batch_size,
      "standing_statistics_batches": sampler.standing_statistics_batches,
      "gin_config": gin_config}


def _restore(model_dir, checkpoint_path=None, use_ema=None):
  """(_ServingGenerator, metadata) of a run whose config.gin is already parsed."""
  options = evaluator.EvalOptions()  # The evaluator's G: its standing statistics too.
  sampler = runs.TrainedRun(model_dir).load_sampler(
      checkpoint_path, use_ema=use_ema,
      standing_statistics_batches=options.standing_statistics_batches,
      batch_size=options.sample_batch_size, seed=options.seed)
  module = _ServingGenerator(sampler.generator, sampler.prior.z_dim,
                             sampler.prior.num_classes)
  return module, _metadata(model_dir, sampler)


def _check_export_dir(model_dir, export_dir, overwrite):
  """Refuses, before any work, an export_dir whose writing could lose anything: the run
  directory or a directory around it, a place inside the run other than its export area, a
  regular file, or (with `overwrite`) a non-empty directory that is not an export."""
  def real(path):
    return os.path.realpath(path).rstrip(os.sep) + os.sep

  run, target = real(model_dir), real(export_dir)
  exports = real(os.path.join(model_dir, run_dir.EXPORT_DIR))
  if run.startswith(target):
    raise ValueError(f"--export_dir={export_dir} is the run directory {model_dir} or holds "
                     "it: writing an export there would replace the run. Choose another.")
  if target.startswith(run) and not (target.startswith(exports) and target != exports):
    raise ValueError(f"--export_dir={export_dir} lies inside the run directory {model_dir}; "
                     f"exports of a run go under {exports} (the default) or outside it.")
  if tf.io.gfile.exists(export_dir) and not tf.io.gfile.isdir(export_dir):
    raise ValueError(f"--export_dir={export_dir} is a file, not a directory; an export is a "
                     "directory. Choose another path (the file is left as it is).")
  if not tf.io.gfile.exists(export_dir) or not tf.io.gfile.listdir(export_dir):
    return
  if not overwrite:
    raise FileExistsError(f"Export directory {export_dir!r} exists and is not empty "
                          "(--overwrite replaces it if it is an export).")
  if not is_export(export_dir):
    raise ValueError(f"--overwrite refuses {export_dir}: it is not an export (no "
                     f"{_SAVED_MODEL} and {METADATA}), so replacing it could lose data.")


def export(model_dir, export_dir=None, checkpoint_path=None, use_ema=None,
           overwrite=False):
  """Writes the run's generator (its EMA one where it has one) as a SavedModel.

  The run's config.gin must be parsed first (runs.parse_run_config; main.py does it).
  `export_dir` defaults to <model_dir>/export/<step>. It is checked before any work
  (`_check_export_dir`): an existing non-empty one is refused unless `overwrite`, which
  replaces only a previous export. The export is written beside it and put in place whole
  (run_dir.replace_directory_atomically). Returns export_dir.
  """
  if export_dir is not None:
    _check_export_dir(model_dir, export_dir, overwrite)
  module, metadata = _restore(model_dir, checkpoint_path, use_ema)
  if export_dir is None:
    export_dir = run_dir.export_path(model_dir, metadata["step"])
    _check_export_dir(model_dir, export_dir, overwrite)

  def write(directory):
    tf.saved_model.save(module, directory,
                        signatures={SIGNATURE: module.serve.get_concrete_function()})
    run_dir.write_atomically(os.path.join(directory, METADATA),
                             json.dumps(metadata, indent=2) + "\n")

  return run_dir.replace_directory_atomically(export_dir, write)


def is_export(path):
  """Whether `path` is an export directory (a SavedModel and metadata from `export`)."""
  return all(tf.io.gfile.exists(os.path.join(path, name))
             for name in (_SAVED_MODEL, METADATA))


def load(export_dir):
  """(generate(z, labels) -> images, metadata) of an export directory."""
  if not is_export(export_dir):
    raise FileNotFoundError(f"{export_dir!r} is not an export: it has no {_SAVED_MODEL} "
                            "(write one with --mode=export).")
  with tf.io.gfile.GFile(os.path.join(export_dir, METADATA)) as f:
    metadata = json.load(f)
  signature = tf.saved_model.load(export_dir).signatures[metadata["signature"]]

  def generate(z, labels):
    inputs = {"z": z} if labels is None else {"z": z, "labels": labels}
    return signature(**inputs)["images"]

  return generate, metadata


def prior_of(metadata):
  """The LatentPrior an export's metadata records (the evaluator's)."""
  return latents.LatentPrior(
      metadata["z_dim"], metadata["z_distribution"], metadata["z_truncation"],
      metadata["num_classes"] if metadata["conditional"] else 0)


def sample(export_dir, num_examples, seed=0, truncation=None, batch_size=None):
  """(images float32 [N, H, W, C] in [0, 1], labels int32 [N] or None), reproducible in seed.

  The evaluator's draws (`latents.seeded_latents`) in its batches (`batch_size`, default
  the run's `evaluation.sample_batch_size`, metadata sample_batch_size): with the run's
  evaluation truncation these are the images the evaluator scores for the same seed;
  `truncation` draws z with another one.
  """
  generate, metadata = load(export_dir)
  if metadata["z_latent_terms"]:
    raise NotImplementedError(
        f"{export_dir}: z of this run carries the structure of "
        f"{metadata['z_latent_terms']} (e.g. InfoGAN codes), which `sample` does not draw; "
        "sample the run's model_dir instead, or feed the SavedModel such z.")
  prior = prior_of(metadata)
  if truncation is not None:
    prior = dataclasses.replace(prior, truncation=truncation)
  images, labels = [], []
  for _, z, batch_labels in latents.seeded_latents(
      prior, num_examples, seed, batch_size or metadata.get("sample_batch_size", 64)):
    if batch_labels is not None:
      labels.append(batch_labels.numpy())
    images.append(np.asarray(generate(z, batch_labels), np.float32))
  return np.concatenate(images), (np.concatenate(labels) if labels else None)


def write_samples(out, images, labels):
  """Writes samples to `out`: a `.npz` file, or a directory of PNGs (see the docstring)."""
  if out.endswith(".npz"):
    arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    run_dir.write_atomically(out, buffer.getvalue())
    return
  tf.io.gfile.makedirs(out)
  digits = len(str(len(images) - 1))
  for index, image in enumerate(images):
    summaries.write_png(os.path.join(out, f"{index:0{digits}d}.png"),
                        summaries.image_grid(image[None], num_columns=1))
