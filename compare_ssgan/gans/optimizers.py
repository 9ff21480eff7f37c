"""PyTorch's Adam and torch-mimicry's linear learning-rate decay, as gin-selectable options.

Keras 3's Adam adds epsilon to sqrt(v) before the bias correction, so its epsilon is in effect
epsilon / sqrt(1 - beta_2^t) (about 3x larger at step 1 with beta_2 = 0.9); PyTorch's
(torch.optim.Adam, which trained torch-mimicry's models) adds it to sqrt(v_hat):

  m <- lerp(m, g, 1 - beta_1);  v <- beta_2 v + (1 - beta_2) g^2
  w <- w - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)

`TorchAdam` computes exactly that, in PyTorch's order of operations, with its scalar
factors in float64 as PyTorch computes them in Python. `linear_decay` is mimicry's
`LRScheduler(lr_decay="linear")`: the learning rate of G step t (from 0) is
lr * (1 - t / num_steps), for both G and D (all of a G step's D updates use the same rate).
"""
import gin
import keras
import tensorflow as tf

from compare_ssgan import validate


@gin.configurable("TorchAdam", allowlist=["beta_1", "beta_2", "epsilon"])
class TorchAdam(keras.optimizers.Adam):
  """Adam with PyTorch's update (epsilon after the bias correction); the slots (momentum,
  velocity) and checkpoints are Keras Adam's. `GAN.g_optimizer_fn = @TorchAdam`.

  Args:
    learning_rate, name, **kwargs: as keras.optimizers.Adam.
    beta_1, beta_2: Adam's decay rates (PyTorch's defaults, 0.9 and 0.999).
    epsilon: Added to sqrt(v_hat) (PyTorch's default, 1e-8).
  """

  def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
               name="torch_adam", **kwargs):
    validate.number("TorchAdam.beta_1", beta_1, minimum=0, maximum=1, max_inclusive=False)
    validate.number("TorchAdam.beta_2", beta_2, minimum=0, maximum=1, max_inclusive=False)
    validate.number("TorchAdam.epsilon", epsilon, minimum=0)
    super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                     epsilon=epsilon, amsgrad=False, name=name, **kwargs)

  def update_step(self, gradient, variable, learning_rate):
    dtype = variable.dtype
    gradient = tf.cast(gradient, dtype)
    # PyTorch computes the step's scalars in Python (float64) and rounds them to float32.
    step = tf.cast(self.iterations + 1, tf.float64)
    bias_correction1 = 1.0 - tf.pow(tf.constant(self.beta_1, tf.float64), step)
    bias_correction2 = 1.0 - tf.pow(tf.constant(self.beta_2, tf.float64), step)
    step_size = tf.cast(tf.cast(learning_rate, tf.float64) / bias_correction1, dtype)
    bias_correction2_sqrt = tf.cast(tf.sqrt(bias_correction2), dtype)
    m = self._momentums[self._get_variable_index(variable)]
    v = self._velocities[self._get_variable_index(variable)]
    # exp_avg.lerp_(grad, 1 - beta_1), with lerp's two forms (exactly g when beta_1 = 0).
    weight = 1.0 - self.beta_1
    if weight < 0.5:
      self.assign(m, m + tf.cast(weight, dtype) * (gradient - m))
    else:
      self.assign(m, gradient - (gradient - m) * tf.cast(1.0 - weight, dtype))
    # exp_avg_sq.mul_(beta_2).addcmul_(grad, grad, value=1 - beta_2)
    self.assign(v, v * tf.cast(self.beta_2, dtype) +
                tf.cast(1.0 - self.beta_2, dtype) * gradient * gradient)
    # denom = sqrt(v) / sqrt(bc2) + eps; param.addcdiv_(m, denom, value=-step_size)
    denom = tf.sqrt(v) / bias_correction2_sqrt + tf.cast(self.epsilon, dtype)
    self.assign(variable, variable + (-step_size) * m / denom)


@gin.configurable("linear_decay", allowlist=["num_steps"])
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
  """torch-mimicry's linear decay to 0 over `num_steps` G steps (`GAN.lr_schedule`).

  Args:
    initial_learning_rate: The rate of G step 0.
    updates_per_step: The optimizer's updates per G step (GAN.disc_iters for D), so that
      the rate follows G steps, as mimicry's.
    num_steps: G steps until the rate reaches 0 (mimicry's num_steps, the run's length).
  """

  def __init__(self, initial_learning_rate, updates_per_step=1, num_steps=gin.REQUIRED):
    validate.number("linear_decay.initial_learning_rate", initial_learning_rate, minimum=0,
                    min_inclusive=False)
    validate.integer("linear_decay.updates_per_step", updates_per_step, minimum=1)
    validate.integer("linear_decay.num_steps", num_steps, minimum=1)
    self.initial_learning_rate = initial_learning_rate
    self.updates_per_step = updates_per_step
    self.num_steps = num_steps

  def __call__(self, step):
    g_step = tf.cast(tf.cast(step, tf.int64) // self.updates_per_step, tf.float64)
    fraction = tf.minimum(g_step / self.num_steps, 1.0)
    # mimicry: v1 + (t - s1) / (s2 - s1) * (v2 - v1), in Python floats.
    return self.initial_learning_rate + fraction * (0.0 - self.initial_learning_rate)

  def get_config(self):
    return {"initial_learning_rate": self.initial_learning_rate,
            "updates_per_step": self.updates_per_step, "num_steps": self.num_steps}
