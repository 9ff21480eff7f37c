"""Gin knobs are checked where they enter, and a bad value names its binding.

Every case constructs (or calls) the object only: the checks run before any data,
network or file is made, so these tests are fast.
"""
import math
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import dcgan
from compare_ssgan.architectures import normalization
from compare_ssgan.architectures import resnet_cifar
from compare_ssgan.architectures import spectral_norm
from compare_ssgan.data import datasets
from compare_ssgan.evaluation import evaluator
from compare_ssgan.gans import augmentations
from compare_ssgan.gans import ema
from compare_ssgan.gans import gan
from compare_ssgan.gans import latents
from compare_ssgan.gans.terms import consistency
from compare_ssgan.gans.terms import contrastive
from compare_ssgan.gans.terms import infogan
from compare_ssgan.gans.terms import latent_consistency
from compare_ssgan.gans.terms import rotation
from compare_ssgan.gans import simclr_augmentations
from compare_ssgan.metrics import extractor
from compare_ssgan.metrics import tasks
from tests.training import helpers

SEED = tf.constant([1, 2], tf.int32)


@pytest.mark.parametrize("binding", [
    "Trainer.steps_per_loop = 0",  # Looped forever writing summaries and grids.
    "Trainer.save_checkpoints_steps = 0",  # ZeroDivisionError after the first loop.
    "Trainer.training_steps = -5",  # Wrote TRAIN_DONE without training.
    "Trainer.batch_size = 0",
    "Trainer.batch_size = -8",
    "Trainer.batch_size = 'abc'",
    "Trainer.batch_size = True",
    "Trainer.summary_steps = 0",
    "Trainer.image_summary_steps = 2.5",
    "Trainer.keep_checkpoint_max = 0",
    "Trainer.seed = -1",
    "Trainer.jit_compile = 1",
    "Trainer.mixed_precision = 'float16'",
])
def test_trainer_refuses_a_bad_knob_before_doing_any_work(tmp_path, binding):
  name, value = (part.strip() for part in binding.split("="))
  with pytest.raises((TypeError, ValueError),
                     match=rf"{re.escape(name)} must be .*; got {re.escape(value)}") as error:
    helpers.make_trainer(tmp_path / "run", binding)
  assert "Trainer" in str(error.value)
  assert not os.path.exists(tmp_path / "run")


def _images():
  return tf.zeros([2, 8, 8, 3])


# A bad value of a representative knob per module: (binding, call).
BAD_KNOBS = [
    ("GAN.z_dim", lambda: gan.GAN((32, 32, 1), 0, architecture="dcgan", z_dim=0)),
    ("GAN.g_lr", lambda: gan.GAN((32, 32, 1), 0, architecture="dcgan", g_lr=-1e-4)),
    ("GAN.penalty_weight",
     lambda: gan.GAN((32, 32, 1), 0, architecture="dcgan", penalty_weight=math.nan)),
    ("GAN.g_use_ema", lambda: gan.GAN((32, 32, 1), 0, architecture="dcgan", g_use_ema="no")),
    ("z.truncation", lambda: latents.sample_z(2, 3, SEED, truncation=0.0)),
    ("ema.start_step", lambda: ema.GeneratorEMA(None, None, start_step=-1)),
    ("consistency.weight", lambda: consistency.consistency(weight=-1.0)),
    ("contrastive.weight", lambda: contrastive.contrastive(weight=-1.0)),
    ("contrastive.output_dim", lambda: contrastive.contrastive(output_dim=0)),
    ("infogan.weight", lambda: infogan.infogan(weight=-1.0)),
    ("latent_consistency.weight_g",
     lambda: latent_consistency.latent_consistency(weight_g=-0.5)),
    ("rotation.rotated_batch_size", lambda: rotation.rotation("64")),
    ("rotation.weight_d", lambda: rotation.rotation(16, weight_d=-1.0)),
    ("random_flip.probability",
     lambda: augmentations.random_flip(_images(), SEED, probability=1.5)),
    ("random_translation.strength",
     lambda: augmentations.random_translation(_images(), SEED, strength=-0.1)),
    ("cutout.strength", lambda: augmentations.cutout(_images(), SEED, strength=2.0)),
    ("color_distortion.grayscale_probability",
     lambda: simclr_augmentations.color_distortion(_images(), SEED,
                                                   grayscale_probability=-0.2)),
    ("random_resized_crop.area_range[1]",
     lambda: simclr_augmentations.random_resized_crop(_images(), SEED,
                                                      area_range=(0.5, 0.1))),
    ("dcgan.Generator.ch", lambda: dcgan.Generator((32, 32, 1), ch=0)),
    ("resnet_cifar.Discriminator.ch",
     lambda: resnet_cifar.Discriminator((32, 32, 3), ch=-1)),
    ("G.spectral_norm", lambda: dcgan.Generator((32, 32, 1), spectral_norm="yes")),
    ("standardize_batch.epsilon", lambda: normalization.make_standardize_batch(epsilon=0.0)),
    ("spectral_norm.epsilon", lambda: spectral_norm.make_spectral_norm(epsilon=-1.0)),
    ("dataset.eval_num_examples", lambda: datasets.get_dataset(eval_num_examples=2.5)),
    ("dataset.resolution", lambda: datasets.get_dataset(resolution=True)),
    ("evaluation.sample_batch_size",
     lambda: evaluator.EvalOptions(sample_batch_size=0)),
    ("kid.block_size", lambda: tasks.KernelInceptionDistance(block_size=1)),
    ("inception_score.splits", lambda: tasks.InceptionScore(splits=0)),
    ("evaluation.timeout_secs", lambda: evaluator.EvalOptions(timeout_secs=-1.0)),
    ("evaluation.results_format", lambda: evaluator.EvalOptions(results_format="xml")),
    ("inception.InceptionExtractor.batch_size",
     lambda: extractor.InceptionExtractor(batch_size=0)),
]


@pytest.mark.parametrize("binding, call", BAD_KNOBS, ids=[b for b, _ in BAD_KNOBS])
def test_a_bad_knob_is_refused_naming_its_binding(binding, call):
  with pytest.raises((TypeError, ValueError), match=rf"{re.escape(binding)} must be .*; got "):
    call()


def test_integer():
  assert validate.integer("k", np.int64(3), minimum=1) == 3
  with pytest.raises(TypeError, match=r"k must be an integer >= 1; got True \(bool\)\."):
    validate.integer("k", True, minimum=1)
  with pytest.raises(TypeError, match=r"got 3.0 \(float\)"):
    validate.integer("k", 3.0)
  with pytest.raises(ValueError, match=r"k must be an integer in \[0, 9\]; got 10 \(int\)"):
    validate.integer("k", 10, minimum=0, maximum=9)


def test_number():
  assert validate.number("k", 2, minimum=0, min_inclusive=False) == 2.0
  for bad in (math.nan, math.inf, -math.inf):
    with pytest.raises(ValueError, match="k must be a finite number"):
      validate.number("k", bad)
  with pytest.raises(TypeError, match=r"got '0.5' \(str\)"):
    validate.number("k", "0.5")
  with pytest.raises(TypeError, match=r"got False \(bool\)"):
    validate.number("k", False)
  with pytest.raises(ValueError, match=r"k must be a finite number > 0; got 0"):
    validate.number("k", 0, minimum=0, min_inclusive=False)
  with pytest.raises(ValueError, match=r"k must be a finite number in \[0, 1\); got 1"):
    validate.number("k", 1, minimum=0, maximum=1, max_inclusive=False)
  assert validate.number("k", 1, minimum=0, maximum=1) == 1.0


def test_boolean_and_choice():
  assert validate.boolean("k", False) is False
  with pytest.raises(TypeError, match=r"k must be True or False; got 1 \(int\)"):
    validate.boolean("k", 1)
  assert validate.choice("k", "a", ("a", "b")) == "a"
  with pytest.raises(ValueError, match=r"k must be one of \('a', 'b'\); got 'c' \(str\)"):
    validate.choice("k", "c", ("a", "b"))
