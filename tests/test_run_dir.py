"""The run directory contract: checkpoint names, the done marker, atomic writes."""
import os
import subprocess
import sys

import pytest

from compare_ssgan import run_dir


def test_lists_only_complete_checkpoints_oldest_first(tmp_path):
  for name in ("ckpt-20.index", "ckpt-20.data-00000-of-00001", "ckpt-3.index",
               "ckpt-7.data-00000-of-00001",  # No .index yet: incomplete.
               "ckpt-best.index", "my_ckpt-5.index", "checkpoint"):
    (tmp_path / name).write_text("")
  assert run_dir.list_checkpoints(str(tmp_path)) == [
      (3, str(tmp_path / "ckpt-3")), (20, str(tmp_path / "ckpt-20"))]
  assert run_dir.checkpoint_exists(str(tmp_path / "ckpt-3"))
  assert not run_dir.checkpoint_exists(str(tmp_path / "ckpt-7"))


def test_step_of_a_prefix():
  assert run_dir.step_of("gs://bucket/run/ckpt-1500") == 1500
  for bad in ("run/ckpt-15.index", "run/my_ckpt-15", "run/ckpt-"):
    with pytest.raises(ValueError, match="<model_dir>/ckpt-<step>"):
      run_dir.step_of(bad)


def test_done_marker_and_atomic_writes(tmp_path):
  model_dir = str(tmp_path / "run")
  assert not run_dir.training_done(model_dir)
  run_dir.mark_training_done(model_dir)
  assert run_dir.training_done(model_dir)
  path = os.path.join(model_dir, "eval", "results.csv")
  run_dir.write_atomically(path, "old")
  run_dir.write_atomically(path, "new")
  run_dir.write_atomically(path + ".bin", b"\x00\xff")
  assert open(path).read() == "new"
  assert open(path + ".bin", "rb").read() == b"\x00\xff"
  assert sorted(os.listdir(os.path.dirname(path))) == ["results.csv",
                                                       "results.csv.bin"]


def test_removes_only_the_trainers_stale_temporaries(tmp_path):
  stale = ["ckpt-7_temp", "config.gin.tmp-12", "operative_config.gin.tmp-3",
           "TRAIN_DONE.tmp-99", "checkpoint.tmp" + "0123456789abcdef" * 2]
  kept = ["ckpt-7.index", "checkpoint", "config.gin", "notes.txt", "ckpt-best_temp",
          "notes.txt.tmp-5", "config.gin.tmp"]
  for name in stale + kept:
    (tmp_path / name).write_text("")
  (tmp_path / "ckpt-8_temp").mkdir()  # A save's shard directory.
  (tmp_path / "ckpt-8_temp" / "part-00000-of-00001.index").write_text("")
  (tmp_path / "eval").mkdir()
  (tmp_path / "eval" / "results.csv.tmp-5").write_text("")  # The evaluator's, maybe live.
  stale.append("ckpt-8_temp")
  assert sorted(run_dir.remove_stale_temporaries(str(tmp_path))) == sorted(
      str(tmp_path / name) for name in stale)
  assert sorted(os.listdir(tmp_path)) == sorted(kept + ["eval"])
  assert os.listdir(tmp_path / "eval") == ["results.csv.tmp-5"]


def test_a_directory_is_replaced_whole_and_a_dead_writers_temporary_removed(tmp_path):
  target = tmp_path / "export" / "5"
  dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                        capture_output=True, text=True, check=True)
  stale = tmp_path / "export" / f"5.tmp-{int(dead.stdout)}"  # Its writer has exited.
  stale.mkdir(parents=True)
  live = tmp_path / "export" / f"5.tmp-{os.getppid()}"  # A live process's: left alone.
  live.mkdir()

  def write(name):
    def fill(directory):
      os.makedirs(directory)
      with open(os.path.join(directory, "metadata.json"), "w") as f:
        f.write(name)
    return fill

  run_dir.replace_directory_atomically(str(target), write("first"))
  assert (target / "metadata.json").read_text() == "first"
  assert not stale.exists() and live.exists()

  def crash(directory):
    write("half")(directory)
    raise RuntimeError("killed mid-write")

  with pytest.raises(RuntimeError):
    run_dir.replace_directory_atomically(str(target), crash)
  assert (target / "metadata.json").read_text() == "first"  # The old one stays whole.
  run_dir.replace_directory_atomically(str(target), write("second"))
  assert (target / "metadata.json").read_text() == "second"
  assert sorted(os.listdir(tmp_path / "export")) == ["5", live.name]
