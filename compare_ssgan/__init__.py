"""compare_ssgan: self-supervised and regularized GANs in TF 2 / Keras 3, in compare_gan's style.

Importing the package registers every gin configurable: each package below imports its own
configurable modules, so a config can refuse an unknown or misspelt binding before any work
starts. The layers, lowest first: validate, run_dir, gin_files; data, architectures; gans;
training; metrics; evaluation; runs; export; experiments, studies; main.
"""
# pylint: disable=unused-import
from compare_ssgan import architectures
from compare_ssgan import data
from compare_ssgan import evaluation
from compare_ssgan import gans
from compare_ssgan import metrics
from compare_ssgan import training

__version__ = "0.1.0"
