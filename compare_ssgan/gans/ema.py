"""Exponential moving average of G's weights (compare_gan's `g_use_ema`)."""
import gin
import tensorflow as tf

from compare_ssgan import validate


@gin.configurable("ema", allowlist=["decay", "start_step"])
class GeneratorEMA:
  """Keeps `ema_generator` as an EMA of `generator`'s trainable weights.

  As in compare_gan the decay is 0 before `start_step` (the EMA tracks the raw weights)
  and there is no num_updates warm-up. Non-trainable state (BN moving statistics, SN's u)
  is copied, not averaged. Call `update` in cross-replica context after the G step.
  """

  def __init__(self, generator, ema_generator, decay=0.9999, start_step=40000):
    validate.number("ema.decay", decay, minimum=0, maximum=1, max_inclusive=False)
    validate.integer("ema.start_step", start_step, minimum=0)
    self.generator = generator
    self.ema_generator = ema_generator
    self.decay = decay
    self.start_step = start_step

  def update(self, step):
    decay = tf.where(step >= self.start_step, self.decay, 0.0)
    for avg, var in zip(self.ema_generator.trainable_variables,
                        self.generator.trainable_variables):
      avg.assign(decay * avg + (1.0 - decay) * var)
    for avg, var in zip(self.ema_generator.non_trainable_variables,
                        self.generator.non_trainable_variables):
      avg.assign(var)
