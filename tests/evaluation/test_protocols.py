"""The per-dataset protocol gin files parse and set the sample counts."""

import glob
import os

import gin
import pytest

from compare_ssgan.evaluation import evaluator

_DIR = os.path.join(os.path.dirname(evaluator.__file__), "protocols")


@pytest.mark.parametrize("name,num_samples", [
    ("paper_10k", 10000), ("paper_celeba_hq128", 3000),
    ("compare_gan_v3_imagenet", 50000), ("compare_gan_v3_lsun_bedroom", 30000)])
def test_protocol_files(name, num_samples):
  gin.parse_config_file(os.path.join(_DIR, name + ".gin"))
  options = evaluator.EvalOptions()
  assert options.num_samples == num_samples
  assert options.repeats == 3 and options.seed == 42


def test_every_protocol_file_is_tested():
  names = {os.path.basename(p)[:-4] for p in glob.glob(_DIR + "/*.gin")}
  assert names == {"paper_10k", "paper_celeba_hq128", "compare_gan_v3_imagenet",
                   "compare_gan_v3_lsun_bedroom"}
