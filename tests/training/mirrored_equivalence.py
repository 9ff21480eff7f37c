"""Run as a script: the same two training steps on 1 device and on 2 mirrored CPU devices.

Reports the largest differences through tests/multi_replica.py.
"""
import sys
import tempfile

from tests import multi_replica

TWO_DEVICES = multi_replica.mirrored_cpus(2)

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from tests.training import helpers  # pylint: disable=g-import-not-at-top

BINDINGS = """
Trainer.training_steps = 2
Trainer.deterministic = True
G.batch_norm = "batch_norm"
"""


def run(strategy):
  with tempfile.TemporaryDirectory() as model_dir:
    trainer = helpers.make_trainer(model_dir, BINDINGS + sys.argv[1], strategy)
    scalars = trainer.train()
    return scalars, helpers.weights(trainer.gan.generator)


one_scalars, one_weights = run(tf.distribute.get_strategy())
two_scalars, two_weights = run(TWO_DEVICES)
multi_replica.report(
    TWO_DEVICES,
    loss_diff=max(abs(one_scalars[k] - two_scalars[k]) for k in ("d_loss", "g_loss")),
    losses=[one_scalars["d_loss"], two_scalars["d_loss"]],
    weight_diff=max(float(np.max(np.abs(a - b))) for a, b in zip(one_weights, two_weights)))
