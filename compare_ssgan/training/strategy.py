"""Builds the tf.distribute strategy named by `--strategy`; says what this process writes."""
import contextlib
import dataclasses
import json
import os

import tensorflow as tf

from compare_ssgan import scratch

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
# multi_worker's all-reduce across workers: TF's choice, gRPC ring, or NCCL (GPUs).
COLLECTIVE_COMMUNICATIONS = {
    "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
    "ring": tf.distribute.experimental.CommunicationImplementation.RING,
    "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
}
# The strategies whose TF constructors read the TF_CONFIG environment variable.
READS_TF_CONFIG = ("mirrored", "multi_worker")


def make_strategy(name="default", tpu=None, num_cpu_devices=None,
                  collective_communication="auto"):
  """Returns the strategy; the TPU/GPU paths run the same step code as the CPU one.

  Args:
    name: one of STRATEGIES.
    tpu: TPU name or grpc address for `TPUClusterResolver` ('' or 'local' on a TPU VM).
    num_cpu_devices: on a CPU-only host, split the CPU into this many logical devices so
      that `mirrored` really runs several replicas (used by tests and for debugging).
    collective_communication: `multi_worker` only: a key of COLLECTIVE_COMMUNICATIONS.
  """
  if name not in STRATEGIES:
    raise ValueError(f"--strategy must be one of {STRATEGIES}; got {name!r}.")
  if collective_communication not in COLLECTIVE_COMMUNICATIONS:
    raise ValueError(f"--collective_communication must be one of "
                     f"{sorted(COLLECTIVE_COMMUNICATIONS)}; got {collective_communication!r}.")
  if collective_communication != "auto" and name != "multi_worker":
    raise ValueError(f"--collective_communication={collective_communication} is for "
                     f"--strategy=multi_worker, not --strategy={name}.")
  if name in READS_TF_CONFIG:
    check_tf_config(name)
  if num_cpu_devices and num_cpu_devices > 1:
    split_cpu(num_cpu_devices)
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=COLLECTIVE_COMMUNICATIONS[collective_communication]))
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


def check_tf_config(name):
  """Refuses a TF_CONFIG that TF would fail on with a bare JSONDecodeError (or ignore):
  not JSON, naming the position, or not a JSON object."""
  if "TF_CONFIG" not in os.environ:
    return
  value = os.environ["TF_CONFIG"]
  try:
    config = json.loads(value)
  except json.JSONDecodeError as e:
    raise ValueError(f"--strategy={name} reads the TF_CONFIG environment variable, and "
                     f"TF_CONFIG is not valid JSON: {e}; it is {value!r}.") from e
  if not isinstance(config, dict):
    raise ValueError(f"--strategy={name}: TF_CONFIG must be a JSON object like "
                     '{"cluster": {"worker": ["host0:2222", ...]}, "task": {"type": '
                     f'"worker", "index": 0}}}}; got a {type(config).__name__}: {value!r}.')


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


@dataclasses.dataclass(frozen=True)
class Worker:
  """This process's part in the run: the one owner of "am I the chief, where do I write".

  TF's multi-worker pattern: every worker takes part in each checkpoint save (a save may
  run collectives), but only the chief writes into model_dir (checkpoints, configs,
  summaries, sample grids, TRAIN_DONE); the others save into a scratch directory of their
  own that is emptied after each save and removed when training ends.
  """
  name: str  # The TF_CONFIG task, e.g. "worker:1", for messages.
  is_chief: bool
  num_workers: int

  @property
  def multi_worker(self):
    return self.num_workers > 1

  @contextlib.contextmanager
  def scratch_dir(self):
    """Yields a fresh local directory of this process's own (None on a single worker),
    removed on exit."""
    if not self.multi_worker:
      yield None
      return
    # Named after this process: a killed worker's is removed at the next start.
    with scratch.directory(self.name.replace(":", "")) as path:
      yield path

  def checkpoint_dir(self, model_dir, scratch_dir):
    """Where this worker's checkpoint saves go."""
    return model_dir if self.is_chief else f"{scratch_dir}/checkpoints"

  def discard_own_checkpoint(self, checkpoint_dir):
    """After a save: a non-chief's copy only took part in the collectives."""
    if not self.is_chief:
      tf.io.gfile.rmtree(checkpoint_dir)


def this_worker(strategy):
  """The Worker for `strategy`: one per MultiWorkerMirroredStrategy task (TF_CONFIG), the
  chief being task `chief:0`, else `worker:0` (TF's rule); every other strategy runs in
  one process, the chief."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if (not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None
      or not resolver.cluster_spec().jobs):
    return Worker(name="chief", is_chief=True, num_workers=1)
  cluster = resolver.cluster_spec().as_dict()
  task_type, task_id = resolver.task_type, resolver.task_id
  chief = ("chief", 0) if "chief" in cluster else ("worker", 0)
  return Worker(name=f"{task_type}:{task_id}", is_chief=(task_type, task_id) == chief,
                num_workers=len(cluster.get("chief", [])) + len(cluster.get("worker", [])))
