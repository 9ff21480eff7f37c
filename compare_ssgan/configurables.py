"""Imports every module that registers gin configurables, so that parsing a config can
reject an unknown or misspelt binding before any work starts."""
# pylint: disable=unused-import
from compare_ssgan.architectures import registry
from compare_ssgan.data import datasets
from compare_ssgan.evaluation import evaluator
from compare_ssgan.gans import augmentations
from compare_ssgan.gans import gan
from compare_ssgan.gans import latents
from compare_ssgan.gans import losses
from compare_ssgan.gans import penalties
from compare_ssgan.gans import simgan
from compare_ssgan.gans import terms
from compare_ssgan.training import trainer
