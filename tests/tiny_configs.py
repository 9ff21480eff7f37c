"""Gin bindings for the tests' tiny networks: the one place their widths are chosen.

Full-width parameter counts are checked in tests/architectures/test_param_counts.py;
everywhere else the real architectures run at these widths.
"""
TINY_WIDTHS = {"dcgan": 4, "sndcgan": 4, "resnet_cifar": 8, "resnet_stl": 4,
               "resnet_biggan": 2, "sngan_cifar": 8}


def tiny_networks(**wider):
  """Bindings of every architecture's G and D width: TINY_WIDTHS, updated by `wider`
  ({architecture: ch}) where a test needs more channels (e.g. for self-attention)."""
  unknown = set(wider) - set(TINY_WIDTHS)
  if unknown:
    raise ValueError(f"tiny_networks: unknown architectures {sorted(unknown)}; "
                     f"expected some of {sorted(TINY_WIDTHS)}.")
  return "".join(f"{architecture}.Generator.ch = {ch}\n"
                 f"{architecture}.Discriminator.ch = {ch}\n"
                 for architecture, ch in {**TINY_WIDTHS, **wider}.items())
