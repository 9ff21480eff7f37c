"""compare_ssgan: self-supervised and regularized GANs in TF 2 / Keras 3, in compare_gan's style."""

__version__ = "0.1.0"
