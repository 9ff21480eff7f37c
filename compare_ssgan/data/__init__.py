"""Datasets (TFDS and local sources), compare_gan's preprocessing, the resumable pipeline."""
# Every module with gin configurables, so that importing the package registers them.
# pylint: disable=unused-import
from compare_ssgan.data import datasets
from compare_ssgan.data import transforms
