"""Launches a compare_ssgan run on a Cloud TPU VM, plus a separate evaluator worker.

  python tpu/launch.py --tpu_name=ssgan-v3 --zone=europe-west4-a --project=my-proj \
      --model_dir=gs://my-bucket/runs/cifar10_ssgan \
      --gin_config=gin_configs/ssgan_paper/cifar10_ssgan.gin --dry_run

Steps: create the TPU VM, install the pinned requirements with tensorflow-tpu, start the
trainer (`--strategy=tpu`) against the GCS model_dir, and start the evaluator
(`--mode=continuous_eval`) on another machine that reads the same model_dir (compare_gan
could not evaluate on TPU; neither do we: the Inception pass wants a GPU or CPU host).
`--dry_run` prints the commands instead of running them.
"""
import shlex
import subprocess

from absl import app
from absl import flags

import commands as commands_lib  # tpu/commands.py, next to this script.

flags.DEFINE_string("tpu_name", None, "Name of the TPU VM to create/use.")
flags.DEFINE_string("zone", None, "GCP zone of the TPU, e.g. europe-west4-a.")
flags.DEFINE_string("project", None, "GCP project.")
flags.DEFINE_string("accelerator_type", "v3-8", "TPU type, e.g. v3-8, v4-8, v3-128.")
flags.DEFINE_string("runtime_version", "tpu-vm-tf-2.21.0-pjrt", "TPU VM software version.")
flags.DEFINE_string("model_dir", None, "gs:// directory shared by trainer and evaluator.")
flags.DEFINE_multi_string("gin_config", [], "Gin configs (paths inside the repository).")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")
flags.DEFINE_string("repo_url", "https://github.com/compare-ssgan/compare_ssgan.git",
                    "Where the TPU VM clones the code from.")
flags.DEFINE_string("tfds_data_dir", None, "gs:// TFDS data_dir (TPUs read data from GCS).")
flags.DEFINE_string("evaluator_host", None,
                    "GCE VM that runs the evaluator (ssh'd with gcloud); None prints the "
                    "command to run on any machine with access to the bucket.")
flags.DEFINE_bool("create", True, "Create the TPU VM first.")
flags.DEFINE_bool("dry_run", False, "Print the commands instead of running them.")
for name in ("tpu_name", "zone", "project", "model_dir"):
  flags.mark_flag_as_required(name)
FLAGS = flags.FLAGS


def main_command(mode, extra_flags):
  """The `python -m compare_ssgan.main` command line with the shared run flags."""
  bindings = list(FLAGS.gin_bindings)
  if FLAGS.tfds_data_dir:
    bindings.append(f"dataset.data_dir='{FLAGS.tfds_data_dir}'")
  return commands_lib.main_command(mode, FLAGS.model_dir, FLAGS.gin_config, bindings,
                                   extra_flags)


def commands():
  tpu = ["gcloud", "compute", "tpus", "tpu-vm"]
  where = [f"--zone={FLAGS.zone}", f"--project={FLAGS.project}"]
  install = ("git clone {repo} compare_ssgan && cd compare_ssgan && pip install -r "
             "requirements.txt && pip uninstall -y tensorflow-cpu && "
             "pip install tensorflow-tpu==2.21.0 -e . -f "
             "https://storage.googleapis.com/libtpu-tf-releases/index.html").format(
                 repo=FLAGS.repo_url)
  train = "cd compare_ssgan && " + main_command("train", ["--strategy=tpu", "--tpu=local"])
  evaluate = main_command("continuous_eval", [])
  steps = []
  if FLAGS.create:
    steps.append(tpu + ["create", FLAGS.tpu_name, f"--accelerator-type={FLAGS.accelerator_type}",
                        f"--version={FLAGS.runtime_version}"] + where)
  steps.append(tpu + ["ssh", FLAGS.tpu_name, "--worker=all", f"--command={install}"] + where)
  steps.append(tpu + ["ssh", FLAGS.tpu_name, "--worker=all", f"--command={train}"] + where)
  if FLAGS.evaluator_host:
    steps.append(["gcloud", "compute", "ssh", FLAGS.evaluator_host,
                  f"--command=cd compare_ssgan && {evaluate}"] + where)
  else:
    steps.append(["bash", "-c", evaluate])
  return steps


def main(argv):
  del argv
  for command in commands():
    print(shlex.join(command), flush=True)
    if not FLAGS.dry_run:
      subprocess.run(command, check=True)


if __name__ == "__main__":
  app.run(main)
