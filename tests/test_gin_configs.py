"""Every gin config parses, and every distinct one trains 2 steps at reduced width without NaN.

TFDS datasets come from `tfds.testing.mock_data` (offline, from the builders' code); the
architectures run at a tiny channel width and batch 4. Fragments (the Table 2 robustness
files) run stacked on the Table 1 cell they modify. A config whose bindings equal a trained
one's but for the dataset (each dataset's pipeline is tested in tests/data) is not trained
again; `SAME_PROGRAM` lists them and a test checks the list both ways.
"""
import glob
import math
import os

import gin
import pytest
import tensorflow_datasets as tfds

import compare_ssgan  # pylint: disable=unused-import  (registers every gin configurable)
from compare_ssgan import gin_files
from compare_ssgan.architectures import normalization
from compare_ssgan.gans import gan
from compare_ssgan.studies import runner
from compare_ssgan.studies import study_file
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib
from tests import tiny_configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDIES_DIR = os.path.join("gin_configs", "studies")  # Study files, not run configs.
CONFIGS = sorted(os.path.relpath(p, ROOT) for p in
                 glob.glob(os.path.join(ROOT, "gin_configs", "**", "*.gin"), recursive=True)
                 if not os.path.relpath(p, ROOT).startswith(STUDIES_DIR))
STUDIES = sorted(glob.glob(os.path.join(ROOT, STUDIES_DIR, "*.gin")))
# Fragments that only override a few knobs -> the config they are stacked on.
FRAGMENT_BASES = {"gin_configs/ssgan_paper/table2/": "gin_configs/ssgan_paper/cifar10_ssgan.gin"}
# Shared settings, not a cell: they train inside every cell that includes them.
SHARED_SETTINGS = {
    "gin_configs/ssgan_paper/base_128.gin": "gin_configs/ssgan_paper/imagenet128_uncond.gin"}
# Configs that train what another trains: Table 2 fragments that restate Table 1's setting,
# and the LSUN-Bedroom cells, which are the CelebA-HQ cells on another dataset.
SAME_PROGRAM = {
    "gin_configs/ssgan_paper/table2/adam_0_09.gin": "gin_configs/ssgan_paper/cifar10_ssgan.gin",
    "gin_configs/ssgan_paper/table2/disc_iters1.gin": "gin_configs/ssgan_paper/cifar10_ssgan.gin",
    "gin_configs/ssgan_paper/table2/sn.gin": "gin_configs/ssgan_paper/cifar10_ssgan.gin",
    "gin_configs/ssgan_paper/lsun_bedroom128_uncond.gin":
        "gin_configs/ssgan_paper/celeba_hq128_uncond.gin",
    "gin_configs/ssgan_paper/lsun_bedroom128_ssgan.gin":
        "gin_configs/ssgan_paper/celeba_hq128_ssgan.gin",
    "gin_configs/ssgan_paper/lsun_bedroom128_ssgan_sbn.gin":
        "gin_configs/ssgan_paper/celeba_hq128_ssgan_sbn.gin",
}
TRAINED = [c for c in CONFIGS if c not in SAME_PROGRAM and c not in SHARED_SETTINGS]

REDUCED = """
Trainer.training_steps = 2
Trainer.batch_size = 4
Trainer.steps_per_loop = 2
Trainer.summary_steps = 2
Trainer.save_checkpoints_steps = 1000
Trainer.image_summary_steps = 1000
rotation.rotated_batch_size = 4
""" + tiny_configs.tiny_networks()
# Loss terms each variant must report (so a silently dropped term fails the test).
EXPECTED_METRICS = {"rotation": {"rotation_real_loss", "rotation_fake_loss",
                                 "rotation_accuracy"},
                    "consistency": {"cr_real"}, "balanced_consistency": {"bcr_fake"},
                    "latent_consistency": {"zcr_d", "zcr_g"},
                    "contrastive": {"contrastive_real_loss", "contrastive_accuracy"},
                    "infogan": {"info_categorical_loss"}}


def _files(config):
  for prefix, base in FRAGMENT_BASES.items():
    if config.startswith(prefix):
      return [base, config]
  return [config]


def test_configs_exist_for_every_paper_cell():
  names = {os.path.relpath(c, "gin_configs") for c in CONFIGS}
  for dataset in ("cifar10", "imagenet128"):
    for cell in ("uncond", "cond", "ssgan", "ssgan_sbn"):
      assert f"ssgan_paper/{dataset}_{cell}.gin" in names
  for dataset in ("lsun_bedroom128", "celeba_hq128"):
    for cell in ("uncond", "ssgan", "ssgan_sbn"):
      assert f"ssgan_paper/{dataset}_{cell}.gin" in names
  for cell in ("uncond_sngan", "ssgan_sngan"):  # Like-for-like with torch-mimicry.
    assert f"ssgan_paper/cifar10_{cell}.gin" in names
  for cell in ("cr", "cntr", "bcr_cntr", "augment_both"):
    assert f"zhao2020_augment/biggan_cifar10_{cell}.gin" in names
  for demo in ("uncond_gan", "cond_gan", "ssgan", "ssgan_sbn", "rot_only", "cr", "icr",
               "cntr", "cntr_reals_only", "augment_both", "infogan", "simgan"):
    assert f"demo/{demo}.gin" in names
  assert "ssgan_paper/cifar10_rot_only.gin" in names
  readme = open(os.path.join(ROOT, "gin_configs", "README.md")).read()
  assert [c for c in names if f"`{c}`" not in readme] == []


@pytest.mark.parametrize("config", CONFIGS)
def test_config_parses(config):
  gin_files.parse_gin(_files(config), [])


@pytest.mark.parametrize("config", CONFIGS)
def test_config_uses_tf1_adam_epsilon(config):
  # The paper cells were trained with TF1's AdamOptimizer (epsilon 1e-8, Keras 3: 1e-7).
  gin_files.parse_gin(_files(config), [])
  assert gan.ADAM(learning_rate=1e-4).epsilon == 1e-8


@pytest.mark.parametrize("config,gain", [
    ("gin_configs/ssgan_paper/cifar10_cond.gin", 0.0),
    ("gin_configs/ssgan_paper/imagenet128_cond.gin", 0.0),
    ("gin_configs/zhao2020_augment/biggan_cifar10_base.gin", 1.0)])
def test_conditional_cells_bind_the_documented_cbn_gain(config, gain):
  # Cond-GAN reproduces compare_gan's W y; the BigGAN cells use the fixed 1 + W y.
  gin_files.parse_gin([config], [])
  cbn = normalization.make_norm("conditional_batch_norm", 4, name="cbn")
  assert cbn.gain_offset == gain


def _bindings_but_the_dataset(config):
  gin.clear_config()
  gin_files.parse_gin(_files(config), [])
  bindings = [line for line in gin.config_str().splitlines() if not line.startswith("dataset.")]
  gin.clear_config()
  return bindings


def test_only_configs_that_train_the_same_program_are_not_trained():
  assert all(config in TRAINED for config in {**SAME_PROGRAM, **SHARED_SETTINGS}.values())
  for config, trained in SAME_PROGRAM.items():
    assert _bindings_but_the_dataset(config) == _bindings_but_the_dataset(trained), config
  for shared, cell in SHARED_SETTINGS.items():
    assert f"include '{shared}'" in open(os.path.join(ROOT, cell)).read()
  programs = [_bindings_but_the_dataset(config) for config in TRAINED]
  repeated = [c for i, c in enumerate(TRAINED) if programs[i] in programs[:i]]
  assert repeated == [], "add these to SAME_PROGRAM"


@pytest.mark.slow
@pytest.mark.parametrize("config", TRAINED)
def test_config_trains_two_steps_at_reduced_width(config, tmp_path):
  gin_files.parse_gin(_files(config), [REDUCED, f"dataset.data_dir = '{tmp_path / 'data'}'"])
  terms = gin.query_parameter("GAN.auxiliary_terms") if _bound("GAN.auxiliary_terms") else []
  with tfds.testing.mock_data(num_examples=8, policy=tfds.testing.MockPolicy.USE_CODE):
    trainer = trainer_lib.Trainer(str(tmp_path / "run"), strategy_lib.make_strategy())
    scalars = trainer.train()
  assert int(trainer.step.numpy()) == 2
  assert all(math.isfinite(v) for v in scalars.values()), scalars
  for term in terms:
    assert EXPECTED_METRICS.get(term.selector, set()) <= set(scalars), (term, scalars)


@pytest.mark.parametrize("config, ssgan", [
    ("gin_configs/demo/rot_only.gin", "gin_configs/demo/ssgan.gin"),
    ("gin_configs/ssgan_paper/cifar10_rot_only.gin",
     "gin_configs/ssgan_paper/cifar10_ssgan.gin")])
def test_rotation_only_is_its_ssgan_without_the_adversarial_loss(config, ssgan):
  with open(os.path.join(ROOT, config)) as f:
    lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
  assert lines == [f"include '{ssgan}'", "GAN.adversarial_weight = 0.0",
                   'evaluation.metrics = ["probe"]']
  gin_files.parse_gin([config], [])
  assert gin.query_parameter("GAN.adversarial_weight") == 0.0
  assert gin.query_parameter("GAN.auxiliary_terms")[0].selector == "rotation"


def _bound(name):
  try:
    gin.query_parameter(name)
    return True
  except ValueError:
    return False


@pytest.mark.parametrize("path", STUDIES)
def test_study_cells_parse(path):
  study = study_file.load(path)
  for spec in runner.run_specs(study, "/nonexistent", only=None)[:len(study.cells)]:
    config = runner.expected_config(spec)  # Its configs, shared configs and bindings.
    assert f"Trainer.seed = {study.seeds[0]}" in config, spec.cell.name
