"""Experiments beyond training a GAN: the papers' side studies (e.g. `forgetting`)."""
