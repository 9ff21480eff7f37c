"""The protocol gin files parse, name themselves, and set their source's counts."""

import glob
import os

import gin
import pytest

from compare_ssgan.evaluation import evaluator
from compare_ssgan.metrics import tasks

_DIR = os.path.join(os.path.dirname(evaluator.__file__), "protocols")
# name: (N, real split, repeats, first seed)
_EXPECTED = {
    "ssgan_paper": (10000, "eval", 3, 42),
    "ssgan_paper_celeba_hq128": (3000, "eval", 3, 42),
    "compare_gan_v3_imagenet": (50000, "eval", 3, 42),
    "compare_gan_v3_lsun_bedroom": (30000, "eval", 3, 42),
    "mimicry_cifar10": (50000, "train", 3, 0),
}


@pytest.fixture(autouse=True)
def _clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def _parse(name):
  gin.parse_config_file(os.path.join(_DIR, name + ".gin"))
  return evaluator.EvalOptions()


@pytest.mark.parametrize("name", sorted(_EXPECTED))
def test_protocol_files(name):
  options = _parse(name)
  assert options.protocol == name  # What its result rows will say.
  assert (options.num_samples, options.real_split, options.repeats,
          options.seed) == _EXPECTED[name]


def test_mimicrys_protocol_sets_its_metric_knobs():
  options = _parse("mimicry_cifar10")
  assert options.quantize_fakes and options.clip_fakes
  assert set(options.metrics) == {"fid", "inception_score", "kid"}
  assert tasks.make_tasks(["inception_score"], has_logits=True)[0].splits == 10
  kid_task = tasks.make_tasks(["kid"], has_logits=False)[0]
  assert options.num_samples // kid_task.block_size == 10
  configured = gin.get_bindings("inception.InceptionExtractor")
  assert configured["weights_source"] == "graphdef_2015_12_05"


def test_every_protocol_file_is_tested():
  names = {os.path.basename(p)[:-4] for p in glob.glob(_DIR + "/*.gin")}
  assert names == set(_EXPECTED)


@pytest.mark.parametrize("bad", ["", "two words", "a/b", None])
def test_a_protocol_name_that_cannot_be_a_result_value_is_refused(bad):
  with pytest.raises(ValueError, match="evaluation.protocol"):
    evaluator.EvalOptions(protocol=bad)


def test_an_unknown_real_split_is_refused():
  with pytest.raises(ValueError, match="evaluation.real_split"):
    evaluator.EvalOptions(real_split="test")
