"""Gin bindings for the tests' tiny networks and tiny Trainer: the one place their widths
and the tiny run's batch, loop, checkpoint and summary steps are chosen.

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


# A tiny run's Trainer: batches of 8, two steps per loop, a checkpoint and scalar summaries
# every 2 steps, image grids every 4.
TINY_TRAINER = {"batch_size": 8, "steps_per_loop": 2, "save_checkpoints_steps": 2,
                "summary_steps": 2, "image_summary_steps": 4}


def tiny_trainer(**changes):
  """Bindings of the tiny run's Trainer: TINY_TRAINER updated by `changes` ({knob: value},
  e.g. training_steps=2, deterministic=True), one `Trainer.knob = value` line each."""
  return "".join(f"Trainer.{knob} = {value!r}\n"
                 for knob, value in {**TINY_TRAINER, **changes}.items())
