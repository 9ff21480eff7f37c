"""Every command in README.md and docs/*.md (and the READMEs of gin_configs/ and tpu/) names
paths that exist and parses its flags; every relative link of those files resolves.

A command is a Python command line inside a fenced code block (`python -m compare_ssgan.X`,
`.venv/bin/python -m ...`, `python benchmarks/....py`, `python -m pytest`, the console
scripts of pyproject.toml), after joining `\\` continuations, splitting `&&` / `;` chains and
dropping `VAR=value` prefixes, `# comments`, `[ ]` around optional arguments and `...`.
Each command is checked twice:

  (a) every argument (or `--flag=` value) that starts with one of REPO_DIRS names an
      existing file or directory of the repository, and so does a script it runs;
  (b) its module or script parses the arguments with its own absl flags or argparse parser,
      without running its main: the module is executed as __main__ with `absl.app.run` and
      `ArgumentParser.parse_args` replaced by a stop, then each command's argv is parsed.
      absl's FLAGS are global and the command lines define clashing flags, so each distinct
      module is parsed in a subprocess of its own, all of its commands one after another.
      The subprocess runs in a scratch directory that mirrors the repository's entries and
      holds NAME/bin/python for every `python3 -m venv NAME` of the docs, so that a flag
      validator sees what it would after the docs' set-up commands.

Modules without an argument parser (e.g. a test script) are only checked to exist; modules
outside the repository (pytest, venv) only get (a). Packages that a script's own venv has and
this one lacks (torch, for the peers' scripts) are stubbed for the import.
"""
import concurrent.futures
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIRS = ("gin_configs/", "benchmarks/", "compare_ssgan/", "tests/", "tpu/", "docs/",
             "reports/")
# Source text of a command line that parses its arguments (else: existence only).
PARSER_MARKERS = ("app.run(", "ArgumentParser(")
# Imported by scripts that run in their own venv (benchmarks/peers/): stubbed when missing.
STUB_IF_MISSING = ("torch", "torch_mimicry", "torchvision")
SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}
REDIRECTIONS = re.compile(r"^(\d?>>?|&>|<)(.*)$")
PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PARSE_TIMEOUT_SECS = 300


@dataclasses.dataclass(frozen=True)
class Command:
  where: str         # "docs/x.md:12"
  text: str          # the command line as written (continuations joined)
  kind: str          # "module", "script", "other" (a module outside the repository) or
                     # "invalid" (not a shell command line: args holds why)
  target: str        # module name or script path (relative to the root when inside it)
  args: tuple        # the arguments after the module or script

  @property
  def argv(self):
    return [self.target] + list(self.args)


def fenced_lines(text):
  """(line number, line) of the shell lines in fenced code blocks, continuations joined."""
  lines, in_block, pending, start = [], False, None, 0
  for number, line in enumerate(text.splitlines(), 1):
    if re.match(r"^ {0,3}(```|~~~)", line):
      in_block, pending = not in_block, None
      continue
    if not in_block:
      continue
    if pending is None:
      pending, start = "", number
    stripped = line.rstrip()
    if stripped.endswith("\\"):
      pending += stripped[:-1] + " "
      continue
    lines.append((start, pending + stripped))
    pending = None
  return lines


def _strip_comment(line):
  """The line without a shell comment: a `#` outside quotes at the start of a word."""
  quote = None
  for i, char in enumerate(line):
    if quote:
      if char == quote:
        quote = None
    elif char in "'\"":
      quote = char
    elif char == "#" and (i == 0 or line[i - 1].isspace()):
      return line[:i]
  return line


def _strip_brackets(tokens):
  """Drops the `[` `]` around optional arguments (nested too) and bare `...`."""
  kept, depth = [], 0
  for token in tokens:
    if not token:  # An empty argument ("") is an argument.
      kept.append(token)
      continue
    while token.startswith("[") and token[1:2] in ("-", "[") or token == "[":
      token, depth = token[1:], depth + 1
    while (depth and token.endswith("]")
           and token.count("[") < token.count("]")):
      token, depth = token[:-1], depth - 1
    if token and token not in ("...", "…"):
      kept.append(token)
  return kept


def _console_scripts(root):
  """{name: module} of pyproject.toml's [project.scripts]."""
  path = os.path.join(root, "pyproject.toml")
  if not os.path.exists(path):
    return {}
  try:
    import tomllib  # pylint: disable=g-import-not-at-top
  except ImportError:  # Python < 3.11.
    return {}
  with open(path, "rb") as f:
    scripts = tomllib.load(f).get("project", {}).get("scripts", {})
  return {name: entry.split(":")[0] for name, entry in scripts.items()}


def _simple_commands(line):
  """The token lists of the simple commands of one shell line (ValueError: not shell)."""
  tokens = shlex.split(_strip_comment(line))
  commands, current = [], []
  for token in tokens:
    if token in SHELL_OPERATORS:
      commands.append(current)
      current = []
    else:
      current.append(token)
  commands.append(current)
  result = []
  for tokens in commands:
    while tokens and (ENV_ASSIGNMENT.match(tokens[0]) or tokens[0] in ("time", "exec",
                                                                         "nohup", "env")):
      tokens = tokens[1:]
    kept, skip = [], False
    for token in tokens:
      if skip:
        skip = False
        continue
      redirection = REDIRECTIONS.match(token)
      if redirection:
        skip = not redirection.group(2)  # `> file`: the file is the next token.
        continue
      kept.append(token)
    if kept:
      result.append(kept)
  return result


def _is_repo_module(root, module):
  top = module.split(".")[0]
  return (os.path.isdir(os.path.join(root, top))
          or os.path.isfile(os.path.join(root, top + ".py")))


def parse_command(tokens, root, where, text, console_scripts=None):
  """A Command from a simple command's tokens, or None if it does not run Python."""
  program = os.path.basename(tokens[0])
  console_scripts = console_scripts or {}
  if program in console_scripts:
    module = console_scripts[program]
    return Command(where, text, "module" if _is_repo_module(root, module) else "other",
                   module, tuple(_strip_brackets(tokens[1:])))
  if not PYTHON.match(program):
    return None
  rest = tokens[1:]
  while rest:
    option = rest[0]
    if option == "-m" and len(rest) > 1:
      module = rest[1]
      kind = "module" if _is_repo_module(root, module) else "other"
      return Command(where, text, kind, module, tuple(_strip_brackets(rest[2:])))
    if option == "-c":
      return None
    if option in ("-X", "-W"):
      rest = rest[2:]
    elif option.startswith("-"):
      rest = rest[1:]
    else:
      script = os.path.normpath(option)
      return Command(where, text, "script", script, tuple(_strip_brackets(rest[1:])))
  return None


def commands_in_markdown(text, root, name):
  """Every Python command of a markdown text (`name` is its path, for messages)."""
  console_scripts = _console_scripts(root)
  commands = []
  for number, line in fenced_lines(text):
    try:
      simple_commands = _simple_commands(line)
    except ValueError as e:  # e.g. an unbalanced quote
      if re.search(r"\bpython", line):
        commands.append(Command(f"{name}:{number}", line.strip(), "invalid", "shell",
                                (str(e),)))
      continue
    for tokens in simple_commands:
      command = parse_command(tokens, root, f"{name}:{number}", line.strip(),
                              console_scripts)
      if command:
        commands.append(command)
  return commands


def _repo_paths(args):
  """The repository paths named by the arguments (values of --flag=... too)."""
  for arg in args:
    candidates = [arg]
    if arg.startswith("-") and "=" in arg:
      candidates = [arg.split("=", 1)[1]]
    for candidate in candidates:
      for part in candidate.split(","):
        part = part.strip()
        if part.startswith("./"):
          part = part[2:]
        part = part.split("::")[0].split("#")[0]
        if part.startswith(REPO_DIRS):
          yield part


def _module_file(root, module):
  base = os.path.join(root, *module.split("."))
  for path in (base + ".py", os.path.join(base, "__main__.py")):
    if os.path.isfile(path):
      return path
  return None


def path_problems(command, root):
  """Problems of (a): repository paths that do not exist, a missing module or script."""
  if command.kind == "invalid":
    return [f"is not a valid shell command line: {command.args[0]}"]
  problems = []
  for path in _repo_paths(command.args):
    if not os.path.exists(os.path.join(root, path)):
      problems.append(f"names {path}, which does not exist")
  if command.kind == "module" and not _module_file(root, command.target):
    problems.append(f"runs module {command.target}, which does not exist")
  if command.kind == "script":
    inside = not os.path.isabs(command.target) and not command.target.startswith("..")
    if inside and not os.path.isfile(os.path.join(root, command.target)):
      problems.append(f"runs {command.target}, which does not exist")
  return problems


def _parse_target(command, root):
  """(kind, path to run) of a command whose arguments can be parsed, else None."""
  if command.kind == "module":
    path = _module_file(root, command.target)
  elif command.kind == "script":
    path = os.path.join(root, command.target)
    if not os.path.isfile(path):
      return None
  else:
    return None
  if path is None:
    return None
  with open(path, encoding="utf-8") as f:
    source = f.read()
  if not any(marker in source for marker in PARSER_MARKERS):
    return None
  return command.kind, command.target


def _venvs_created(commands):
  """The virtual environments that commands create (`python3 -m venv NAME`)."""
  return sorted({arg for c in commands if c.target == "venv"
                 for arg in c.args[:1] if not arg.startswith("-")})


def _make_sandbox(root, sandbox, venvs):
  """A working directory that shows the repository's entries (symlinks) and, for each venv
  the docs create, NAME/bin/python: a command's relative paths resolve as in the root after
  the docs' set-up, and nothing is written into the repository."""
  for name in os.listdir(root):
    os.symlink(os.path.join(root, name), os.path.join(sandbox, name))
  for venv in venvs:
    if os.path.isabs(venv) or os.path.exists(os.path.join(sandbox, venv)):
      continue
    bin_dir = os.path.join(sandbox, venv, "bin")
    os.makedirs(bin_dir)
    for name in ("python", "python3"):
      os.symlink(sys.executable, os.path.join(bin_dir, name))


def _run_worker(root, cwd, kind, target, argvs):
  """Parses every argv of one module or script in a fresh interpreter: a result per argv."""
  with tempfile.TemporaryDirectory() as tmp:
    spec_path, out_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "out.json")
    with open(spec_path, "w") as f:
      json.dump({"root": root, "kind": kind, "target": target, "argvs": argvs}, f)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    try:
      completed = subprocess.run(
          [sys.executable, os.path.abspath(__file__), "--parse-worker", spec_path, out_path],
          cwd=cwd, env=env, capture_output=True, text=True, timeout=PARSE_TIMEOUT_SECS)
    except subprocess.TimeoutExpired:
      return [f"parsing took more than {PARSE_TIMEOUT_SECS} s"] * len(argvs), None
    if not os.path.exists(out_path):
      tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
      return [f"the parse worker failed (exit {completed.returncode}): {tail}"] * len(argvs), None
    with open(out_path) as f:
      out = json.load(f)
  return out["errors"], out.get("note")


def check_commands(commands, root, max_workers=2):
  """{command: [problem, ...]} for (a) and (b), and {target: note} of the parse workers."""
  problems = {command: path_problems(command, root) for command in commands}
  groups = {}
  for command in commands:
    target = _parse_target(command, root)
    if target:
      groups.setdefault(target, []).append(command)
  notes = {}
  with tempfile.TemporaryDirectory() as sandbox, \
       concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
    _make_sandbox(root, sandbox, _venvs_created(commands))
    futures = {pool.submit(_run_worker, root, sandbox, kind, target,
                           [c.argv for c in group]): (target, group)
               for (kind, target), group in groups.items()}
    for future in concurrent.futures.as_completed(futures):
      (target, group) = futures[future]
      errors, note = future.result()
      if note:
        notes[target] = note
      for command, error in zip(group, errors):
        if error:
          problems[command].append(f"does not parse: {error}")
  return problems, notes


def doc_files(root=ROOT):
  """README.md, docs/*.md, and the READMEs of gin_configs/ and tpu/."""
  files = [os.path.join(root, name) for name in ("README.md", "gin_configs/README.md",
                                                  "tpu/README.md")]
  docs = os.path.join(root, "docs")
  if os.path.isdir(docs):
    files += sorted(os.path.join(docs, name) for name in os.listdir(docs)
                    if name.endswith(".md"))
  return [f for f in files if os.path.isfile(f)]


def commands_in_files(files, root=ROOT):
  commands = []
  for path in files:
    with open(path, encoding="utf-8") as f:
      commands += commands_in_markdown(f.read(), root, os.path.relpath(path, root))
  return commands


# ----- The parse worker (runs in its own interpreter, `python tests/test_docs.py`). -----


def _stub_missing_packages(names):
  """Lets `import torch` etc. succeed with stand-ins where the package is missing."""
  import importlib.abc  # pylint: disable=g-import-not-at-top
  import importlib.machinery  # pylint: disable=g-import-not-at-top
  import importlib.util  # pylint: disable=g-import-not-at-top
  import types  # pylint: disable=g-import-not-at-top
  from unittest import mock  # pylint: disable=g-import-not-at-top

  missing = {name for name in names if importlib.util.find_spec(name) is None}
  if not missing:
    return []

  class StubModule(types.ModuleType):

    def __getattr__(self, name):
      if name.startswith("__"):
        raise AttributeError(name)
      return mock.MagicMock(name=f"{self.__name__}.{name}")

  class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):

    def find_spec(self, fullname, path=None, target=None):
      del path, target
      if fullname.split(".")[0] in missing:
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
      return None

    def create_module(self, spec):
      return StubModule(spec.name)

    def exec_module(self, module):
      module.__path__ = []

  sys.meta_path.append(StubFinder())
  return sorted(missing)


def _parse_worker(spec_path, out_path):
  import argparse  # pylint: disable=g-import-not-at-top
  import contextlib  # pylint: disable=g-import-not-at-top
  import io  # pylint: disable=g-import-not-at-top
  import runpy  # pylint: disable=g-import-not-at-top
  import traceback  # pylint: disable=g-import-not-at-top
  from unittest import mock  # pylint: disable=g-import-not-at-top

  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top

  with open(spec_path) as f:
    spec = json.load(f)
  root, kind, target, argvs = spec["root"], spec["kind"], spec["target"], spec["argvs"]

  class Stop(BaseException):
    """Raised instead of running the command's main."""

  found = {}

  def stop_absl(*args, **kwargs):
    del args, kwargs
    found["absl"] = True
    raise Stop()

  def stop_argparse(parser, *args, **kwargs):
    del args, kwargs
    found["argparse"] = parser
    raise Stop()

  stubbed = _stub_missing_packages(STUB_IF_MISSING)
  # As `python -m` (the working directory first) or `python script.py` (its folder first).
  sys.path[0:1] = ([root] if kind == "module"
                   else [os.path.dirname(os.path.join(root, target)), root])
  sys.argv = list(argvs[0])
  failure = None
  with mock.patch.object(app, "run", stop_absl), \
       mock.patch.object(argparse.ArgumentParser, "parse_args", stop_argparse), \
       mock.patch.object(argparse.ArgumentParser, "parse_known_args", stop_argparse):
    try:
      if kind == "module":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
      else:
        runpy.run_path(os.path.join(root, target), run_name="__main__")
      failure = "it ran to the end without parsing its command line"
    except Stop:
      pass
    except SystemExit as e:
      failure = f"it exited ({e.code}) before parsing its command line"
    except BaseException:  # pylint: disable=broad-except
      failure = "it does not import: " + " | ".join(
          traceback.format_exc().strip().splitlines()[-3:])

  errors = []
  for argv in argvs:
    if failure:
      errors.append(failure)
    elif "argparse" in found:
      stderr = io.StringIO()
      try:
        with contextlib.redirect_stderr(stderr):
          found["argparse"].parse_args(argv[1:])
        errors.append(None)
      except SystemExit as e:
        message = stderr.getvalue().strip().splitlines()
        errors.append(None if not e.code else (message[-1] if message else f"exit {e.code}"))
    else:
      try:
        rest = flags.FLAGS(list(argv))
        errors.append(f"unexpected positional arguments {rest[1:]}" if len(rest) > 1
                      else None)
      except flags.Error as e:
        errors.append(str(e))
      finally:
        flags.FLAGS.unparse_flags()
  used = [name for name in stubbed if name in sys.modules]
  note = f"parsed with {', '.join(used)} stubbed" if used and not failure else None
  with open(out_path, "w") as f:
    json.dump({"errors": errors, "note": note}, f)


# ----- The tests. -----

DOC_COMMANDS = commands_in_files(doc_files())


@pytest.fixture(scope="module")
def checked():
  problems, _ = check_commands(DOC_COMMANDS, ROOT)
  return problems


def test_docs_have_commands():
  assert len(DOC_COMMANDS) > 20
  modules = {c.target for c in DOC_COMMANDS}
  assert "compare_ssgan.main" in modules and "pytest" in modules


@pytest.mark.parametrize("command", DOC_COMMANDS,
                         ids=[f"{c.where}:{os.path.basename(c.target)}" for c in DOC_COMMANDS])
def test_doc_command(command, checked):
  assert checked[command] == [], f"{command.where}: {command.text}\n" + "\n".join(
      checked[command])


def _slug(heading):
  """GitHub's anchor of a markdown heading."""
  heading = re.sub(r"[^\w\- ]", "", heading.strip().lower())
  return heading.replace(" ", "-")


def link_problems(path, root=ROOT):
  """Relative links of a markdown file whose file (or #anchor) does not exist."""
  with open(path, encoding="utf-8") as f:
    text = f.read()
  problems = []
  for target in re.findall(r"\]\(([^)\s]+)\)", text):
    if re.match(r"^[a-z]+:", target):
      continue  # http(s):, mailto:
    file_part, _, anchor = target.partition("#")
    linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part \
        else path
    if not os.path.exists(linked):
      problems.append(f"{target}: no such file")
    elif anchor and linked.endswith(".md"):
      with open(linked, encoding="utf-8") as f:
        slugs = {_slug(h) for h in re.findall(r"^#+ (.*)$", f.read(), re.M)}
      if anchor not in slugs:
        problems.append(f"{target}: no heading #{anchor}")
  return problems


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_relative_links_exist(path):
  assert link_problems(path) == []


def test_reports_a_broken_link(tmp_path):
  _write(str(tmp_path), "docs/a.md", "# A title\n[ok](b.md#b-part) [x](c.md) [y](b.md#nope)\n")
  _write(str(tmp_path), "docs/b.md", "## B part\n")
  assert link_problems(str(tmp_path / "docs" / "a.md"), str(tmp_path)) == [
      "c.md: no such file", "b.md#nope: no heading #nope"]


def test_extracts_commands_as_a_shell_reads_them():
  text = textwrap.dedent("""\
      Prose `python -m not.checked` is not a command.
      ```
      python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m pkg.cli --a=1
      TF_CONFIG='{"task": {"index": 0}}' \\
      python -m pkg.cli --b=x.npz#images \\
        [--c=2 [--d]]   # a comment
      python tools/script.py --gin_bindings='G.x = [1, 2]' > out.txt
      generator = tf.saved_model.load(export_dir)
      apt-get install something
      ```
      """)
  commands = commands_in_markdown(text, ROOT, "x.md")
  assert [(c.where, c.kind, c.target, c.args) for c in commands] == [
      ("x.md:3", "other", "venv", (".venv",)),
      ("x.md:3", "other", "pkg.cli", ("--a=1",)),
      ("x.md:4", "other", "pkg.cli", ("--b=x.npz#images", "--c=2", "--d")),
      ("x.md:7", "script", "tools/script.py", ("--gin_bindings=G.x = [1, 2]",))]


def _write(root, path, text):
  path = os.path.join(root, path)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write(textwrap.dedent(text))


def test_reports_a_bad_flag_a_bad_value_and_a_missing_path(tmp_path):
  root = str(tmp_path)
  _write(root, "gin_configs/good.gin", "")
  _write(root, "tools/absl_cli.py", """\
      import os
      from absl import app
      from absl import flags
      flags.DEFINE_string("gin_config", None, "A config.")
      flags.DEFINE_integer("steps", 1, "Steps.")
      flags.DEFINE_string("other_python", None, "An executable.")
      flags.register_validator("other_python", lambda p: p is None or os.access(p, os.X_OK))
      def main(argv):
        raise AssertionError("main must not run")
      if __name__ == "__main__":
        app.run(main)
      """)
  _write(root, "tools/argparse_cli.py", """\
      import argparse
      def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--count", type=int, default=1)
        parser.parse_args()
        raise AssertionError("main must not run")
      if __name__ == "__main__":
        main()
      """)
  _write(root, "tools/no_parser.py", "raise AssertionError('must not run')\n")
  text = textwrap.dedent("""\
      ```
      python tools/absl_cli.py --gin_config=gin_configs/good.gin --steps=3
      python tools/absl_cli.py --gin_config=gin_configs/missing.gin
      python tools/absl_cli.py --no_such_flag=1
      python tools/absl_cli.py --steps=many
      python tools/absl_cli.py stray
      python tools/argparse_cli.py --count=2
      python tools/argparse_cli.py --count=two
      python tools/argparse_cli.py --nope
      python tools/no_parser.py
      python tools/gone.py --x=1
      python3 -m venv otherenv
      python tools/absl_cli.py --other_python=otherenv/bin/python
      python tools/absl_cli.py --other_python=elsewhere/bin/python
      python tools/absl_cli.py --gin_config='gin_configs/good.gin
      ```
      """)
  commands = commands_in_markdown(text, root, "doc.md")
  problems, _ = check_commands(commands, root)
  found = {c.where: " ".join(problems[c]) for c in commands}
  assert found["doc.md:2"] == ""
  assert "names gin_configs/missing.gin, which does not exist" in found["doc.md:3"]
  assert "no_such_flag" in found["doc.md:4"]
  assert "steps" in found["doc.md:5"] and "does not parse" in found["doc.md:5"]
  assert "unexpected positional arguments ['stray']" in found["doc.md:6"]
  assert found["doc.md:7"] == ""
  assert "invalid int value: 'two'" in found["doc.md:8"]
  assert "unrecognized arguments: --nope" in found["doc.md:9"]
  assert found["doc.md:10"] == ""  # No parser: exists, and is not run.
  assert "runs tools/gone.py, which does not exist" in found["doc.md:11"]
  assert found["doc.md:13"] == ""  # The venv of the line before.
  assert "other_python" in found["doc.md:14"]
  assert not os.path.exists(os.path.join(root, "otherenv"))
  assert "not a valid shell command line: No closing quotation" in found["doc.md:15"]


if __name__ == "__main__" and sys.argv[1:2] == ["--parse-worker"]:
  _parse_worker(sys.argv[2], sys.argv[3])
