"""Small helpers for the training tests: a tiny trainer and reading weights back."""
import gin
import numpy as np

import compare_ssgan  # pylint: disable=unused-import  (registers every gin configurable)
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib
from tests import tiny_configs

TINY_DEMO = """
dataset.name = "fashion_mnist_embedded"
GAN.architecture = "dcgan"
GAN.z_dim = 16
""" + tiny_configs.tiny_trainer()


def make_trainer(model_dir, bindings="", strategy=None):
  gin.clear_config()
  gin.parse_config(TINY_DEMO + bindings)
  return trainer_lib.Trainer(str(model_dir), strategy or strategy_lib.make_strategy())


def weights(module):
  return [np.array(v.numpy()) for v in module.variables]
