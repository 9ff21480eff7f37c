"""Launches a multi-worker GPU run (--strategy=multi_worker) over ssh, plus an evaluator.

  python tpu/launch_gpu_cluster.py --hosts=gpu0,gpu1 --model_dir=gs://my-bucket/runs/c10 \
      --gin_config=gin_configs/ssgan_paper/cifar10_ssgan.gin --dry_run

Every host must have the repository (at --repo_dir, installed with the GPU extra) and read
and write the shared model_dir (a bucket or a network file system). Each host runs one worker
with its TF_CONFIG (all hosts in the cluster, its own index), the first host being the chief
(it alone writes into model_dir); the workers all-reduce with NCCL. The evaluator
(`--mode=continuous_eval`) runs on --evaluator_host, or wherever the printed command is run.
`--dry_run` prints the commands instead of running them.
"""
import json
import shlex
import subprocess

from absl import app
from absl import flags

import commands as commands_lib  # tpu/commands.py, next to this script.

flags.DEFINE_list("hosts", None, "The workers' host names; the first is the chief.")
flags.DEFINE_integer("port", 2222, "Port of every worker's TF server.")
flags.DEFINE_string("model_dir", None, "Run directory that every host can read and write.")
flags.DEFINE_multi_string("gin_config", [], "Gin configs (paths inside the repository).")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")
flags.DEFINE_string("repo_dir", "compare_ssgan", "The repository's directory on every host.")
flags.DEFINE_enum("collective_communication", "nccl", ["auto", "ring", "nccl"],
                  "How the workers all-reduce (compare_ssgan.main's flag).")
flags.DEFINE_string("evaluator_host", None,
                    "Host that runs the evaluator over ssh; None prints the command to run "
                    "on any machine that can read model_dir.")
flags.DEFINE_bool("dry_run", False, "Print the commands instead of running them.")
for name in ("hosts", "model_dir"):
  flags.mark_flag_as_required(name)
FLAGS = flags.FLAGS


def commands():
  """One ssh command per worker, then the evaluator's."""
  cluster = {"worker": [f"{host}:{FLAGS.port}" for host in FLAGS.hosts]}
  steps = []
  for index, host in enumerate(FLAGS.hosts):
    tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    train = commands_lib.main_command(
        "train", FLAGS.model_dir, FLAGS.gin_config, FLAGS.gin_bindings,
        ["--strategy=multi_worker",
         f"--collective_communication={FLAGS.collective_communication}"])
    steps.append(["ssh", host, f"cd {shlex.quote(FLAGS.repo_dir)} && "
                               f"TF_CONFIG={shlex.quote(tf_config)} {train}"])
  evaluate = commands_lib.main_command("continuous_eval", FLAGS.model_dir, FLAGS.gin_config,
                                       FLAGS.gin_bindings)
  if FLAGS.evaluator_host:
    steps.append(["ssh", FLAGS.evaluator_host,
                  f"cd {shlex.quote(FLAGS.repo_dir)} && {evaluate}"])
  else:
    steps.append(["bash", "-c", evaluate])
  return steps


def main(argv):
  del argv
  jobs = []
  for command in commands():
    print(shlex.join(command), flush=True)
    if not FLAGS.dry_run:  # The workers and the evaluator run together.
      jobs.append(subprocess.Popen(command))
  failed = [job.args for job in jobs if job.wait()]
  if failed:
    raise SystemExit(f"Failed: {failed}")


if __name__ == "__main__":
  app.run(main)
