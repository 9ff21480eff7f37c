"""Every gin configurable in the package is registered by importing the package, so a run
directory whose config names any of them re-parses in a fresh process."""
import ast
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Re-reads a run's config.gin the way the evaluator, the sampler and the study runner do.
_REPARSE = "import sys; from compare_ssgan import runs; runs.parse_run_config(sys.argv[1])"


def _call_name(node):
  return ast.unparse(node.func) if isinstance(node, ast.Call) else ast.unparse(node)


def configurable_names():
  """The gin names of every `gin.configurable` / `gin.external_configurable` in the source."""
  names = set()
  for parent, _, files in os.walk(os.path.join(ROOT, "compare_ssgan")):
    for file_name in (f for f in files if f.endswith(".py")):
      with open(os.path.join(parent, file_name)) as f:
        tree = ast.parse(f.read())
      for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
          for decorator in node.decorator_list:
            if _call_name(decorator) == "gin.configurable":
              args = decorator.args if isinstance(decorator, ast.Call) else []
              names.add(args[0].value if args else node.name)
        elif isinstance(node, ast.Call) and _call_name(node) == "gin.external_configurable":
          keywords = {k.arg: k.value.value for k in node.keywords}
          name = keywords.get("name") or ast.unparse(node.args[0]).split(".")[-1]
          module = keywords.get("module")
          names.add(f"{module}.{name}" if module else name)
  return sorted(names)


def _reparse(tmp_path, names):
  model_dir = tmp_path / "run"
  model_dir.mkdir(exist_ok=True)
  (model_dir / "config.gin").write_text(
      "EVERY_CONFIGURABLE = [\n" + "".join(f"    @{name},\n" for name in names) + "]\n")
  return subprocess.run([sys.executable, "-c", _REPARSE, str(model_dir)], cwd=ROOT,
                        capture_output=True, text=True, timeout=300, check=False)


def test_a_run_config_naming_every_configurable_reparses_in_a_fresh_process(tmp_path):
  names = configurable_names()
  # The source holds this many; the walk above must not miss its decorators.
  assert len(names) > 60 and {"GAN", "Trainer", "evaluation", "probe", "kid",
                              "inception.InceptionExtractor", "rotation",
                              "keras.optimizers.Adam"} <= set(names)
  result = _reparse(tmp_path, names)
  assert result.returncode == 0, result.stderr[-3000:]
  # The check can fail: a name no module registers is refused.
  result = _reparse(tmp_path, names + ["forgotten_module.Configurable"])
  assert result.returncode != 0
  assert "forgotten_module.Configurable" in result.stderr
