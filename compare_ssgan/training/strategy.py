"""Builds the tf.distribute strategy named by `--strategy`."""
import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def make_strategy(name="default", tpu=None, num_cpu_devices=None):
  """Returns the strategy; the TPU/GPU paths run the same step code as the CPU one.

  Args:
    name: one of STRATEGIES.
    tpu: TPU name or grpc address for `TPUClusterResolver` ('' or 'local' on a TPU VM).
    num_cpu_devices: on a CPU-only host, split the CPU into this many logical devices so
      that `mirrored` really runs several replicas (used by tests and for debugging).
  """
  if name not in STRATEGIES:
    raise ValueError(f"--strategy must be one of {STRATEGIES}; got {name!r}.")
  if num_cpu_devices and num_cpu_devices > 1:
    split_cpu(num_cpu_devices)
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


def split_cpu(num_devices):
  """Configures `num_devices` logical CPUs; must run before TF initialises its devices."""
  cpu = tf.config.list_physical_devices("CPU")[0]
  current = tf.config.get_logical_device_configuration(cpu)
  if current and len(current) == num_devices:
    return
  try:
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
  except RuntimeError as e:
    raise RuntimeError(
        f"Cannot split the CPU into {num_devices} devices: TF is already initialised "
        "in this process. Split it before creating any tensor.") from e
