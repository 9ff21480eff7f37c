"""Ships a trained generator: a TF SavedModel any TF program can load, and seeded samples.

The SavedModel (`export`) needs neither compare_ssgan nor gin to run:

  generator = tf.saved_model.load(export_dir).signatures["serving_default"]
  images = generator(z=z)["images"]                # conditional: generator(z=z, labels=y)

  z       float32 [N, z_dim], drawn from the run's prior (metadata.json: z_distribution)
  labels  int32 [N] class ids in [0, num_classes), only for a conditional generator
  images  float32 [N, H, W, C] in [0, 1]

Truncation is a rule for drawing z (compare_ssgan.gans.latents: a normal z truncated to
[-t, t] by inverse CDF, a uniform z from U[-t, t]), not an operation on a given z, so the
signature takes z as drawn; `sample` and the sample command draw it, with the run's
evaluation truncation (metadata.json: z_truncation) or another one. Next to the SavedModel,
metadata.json holds what a user needs to draw z and read the images, the step, and the
run's config.gin.
"""
import json
import os

import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan.gans import latents
from compare_ssgan.gans import randomness
from compare_ssgan.gans.terms import base as terms_base
from compare_ssgan.training import restore

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


def _eval_z_prior():
  """(distribution, truncation) that the evaluator draws z with: gin's `eval/z.*`."""
  bindings = gin.get_bindings("eval/z")
  return bindings.get("distribution", "uniform"), bindings.get("truncation")


def _latent_terms(gan):
  """Names of the terms that put structure into z (InfoGAN's codes): not drawn by `sample`."""
  return [term.name for term in gan.terms if type(term).transform_latents
          is not terms_base.AuxiliaryTerm.transform_latents]


def _metadata(model_dir, sampler):
  distribution, truncation = _eval_z_prior()
  height, width, channels = sampler.image_shape
  with tf.io.gfile.GFile(run_dir.config_path(model_dir)) as f:
    gin_config = f.read()
  return {
      "signature": SIGNATURE, "step": sampler.step, "checkpoint": sampler.checkpoint_path,
      "use_ema": sampler.use_ema, "z_dim": sampler.gan.z_dim, "z_distribution": distribution,
      "z_truncation": truncation, "z_latent_terms": _latent_terms(sampler.gan),
      "num_classes": sampler.num_classes,
      "conditional": bool(sampler.gan.conditional), "resolution": [height, width],
      "channels": channels, "image_range": [0.0, 1.0], "gin_config": gin_config}


def _restore(model_dir, checkpoint_path=None, use_ema=None):
  """(_ServingGenerator, metadata) of a run whose config.gin is already parsed."""
  sampler = restore.load_sampler(model_dir, checkpoint_path, use_ema=use_ema)
  module = _ServingGenerator(sampler.generator, sampler.gan.z_dim,
                             sampler.num_classes if sampler.gan.conditional else 0)
  return module, _metadata(model_dir, sampler)


def export(model_dir, export_dir=None, checkpoint_path=None, use_ema=None,
           overwrite=False):
  """Writes the run's generator (its EMA one where it has one) as a SavedModel.

  The run's config.gin must be parsed first (restore.parse_run_config; main.py does it).
  `export_dir` defaults to <model_dir>/export/<step>; an existing non-empty one is refused
  unless `overwrite`. The export is written beside it and renamed into place, so a crash
  never leaves a half-written one. Returns export_dir.
  """
  module, metadata = _restore(model_dir, checkpoint_path, use_ema)
  export_dir = export_dir or run_dir.export_path(model_dir, metadata["step"])
  if not overwrite and tf.io.gfile.exists(export_dir) and tf.io.gfile.listdir(export_dir):
    raise FileExistsError(f"Export directory {export_dir!r} exists and is not empty "
                          "(--overwrite replaces it).")
  temporary = f"{export_dir.rstrip('/')}.tmp-{os.getpid()}"
  tf.saved_model.save(module, temporary,
                      signatures={SIGNATURE: module.serve.get_concrete_function()})
  run_dir.write_atomically(os.path.join(temporary, METADATA),
                           json.dumps(metadata, indent=2) + "\n")
  if tf.io.gfile.exists(export_dir):
    tf.io.gfile.rmtree(export_dir)
  tf.io.gfile.rename(temporary, export_dir)
  return export_dir


def load(source):
  """(generate(z, labels) -> images, metadata) of an export directory or a run's model_dir.

  A model_dir's config.gin is parsed over the current gin config and its latest
  checkpoint restored, as `export` would write it.
  """
  if tf.io.gfile.exists(os.path.join(source, _SAVED_MODEL)):
    with tf.io.gfile.GFile(os.path.join(source, METADATA)) as f:
      metadata = json.load(f)
    signature = tf.saved_model.load(source).signatures[metadata["signature"]]
  else:
    restore.parse_run_config(source)
    module, metadata = _restore(source)
    signature = module.serve

  def generate(z, labels):
    inputs = {"z": z} if labels is None else {"z": z, "labels": labels}
    return signature(**inputs)["images"]

  return generate, metadata


def sample(source, num_examples, seed=0, truncation=None, batch_size=64):
  """(images float32 [N, H, W, C] in [0, 1], labels int32 [N] or None), reproducible in seed.

  z is drawn from the run's prior with `truncation`, default the run's evaluation one
  (metadata z_truncation); a conditional generator gets uniform random labels.
  """
  generate, metadata = load(source)
  if metadata["z_latent_terms"]:
    raise NotImplementedError(
        f"{source}: z of this run carries the structure of {metadata['z_latent_terms']} "
        "(e.g. InfoGAN codes), which `sample` does not draw; feed the SavedModel such z.")
  truncation = metadata["z_truncation"] if truncation is None else truncation
  base = tf.constant([seed, 11], tf.int32)
  images, labels = [], []
  for index, start in enumerate(range(0, num_examples, batch_size)):
    size = min(batch_size, num_examples - start)
    batch_seed = randomness.fold_in(base, index)
    z = latents.sample_z(size, metadata["z_dim"], randomness.fold_in(batch_seed, "z"),
                         distribution=metadata["z_distribution"], truncation=truncation)
    batch_labels = None
    if metadata["conditional"]:
      batch_labels = latents.sample_labels(size, metadata["num_classes"],
                                           randomness.fold_in(batch_seed, "labels"))
      labels.append(batch_labels.numpy())
    images.append(np.asarray(generate(z, batch_labels), np.float32))
  return np.concatenate(images), (np.concatenate(labels) if labels else None)
