"""The `python3 -m compare_ssgan.main` command line that both launchers print."""
import shlex


def main_command(mode, model_dir, gin_configs, gin_bindings, extra_flags=()):
  """One compare_ssgan.main invocation, shell-quoted."""
  parts = ["python3", "-m", "compare_ssgan.main", f"--mode={mode}", f"--model_dir={model_dir}"]
  parts += [f"--gin_config={c}" for c in gin_configs]
  parts += [f"--gin_bindings={b}" for b in gin_bindings]
  return shlex.join(parts + list(extra_flags))
