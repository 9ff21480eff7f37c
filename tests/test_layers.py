"""The package's layering: no lower layer imports a higher one, no import inside a function.

The layers, lowest first (compare_ssgan/__init__.py says the same); a module of a layer may
import its own layer and the ones below.
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "compare_ssgan")

LAYERS = (
    ("validate", "run_lock", "scratch", "run_dir", "gin_files"),
    ("data", "architectures", "profiling"),
    ("gans",),
    ("training",),
    ("metrics",),
    ("evaluation",),
    ("runs",),
    ("export",),
    ("experiments", "studies"),
    ("main",),
)
_LAYER = {room: level for level, rooms in enumerate(LAYERS) for room in rooms}


def room_of(module):
  """The top-level module or subpackage of compare_ssgan that `module` belongs to."""
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else "__init__"


def problems(module, source):
  """Layering problems of one module's source: imports inside functions or classes, and
  imports of a higher layer."""
  found = []
  tree = ast.parse(source)
  top_level = {id(node) for node in tree.body}
  importer = room_of(module)
  for node in ast.walk(tree):
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
      continue
    names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
             else [f"{node.module}.{alias.name}" for alias in node.names])
    names = [n for n in names if n.startswith("compare_ssgan.")]
    if id(node) not in top_level:
      found.append(f"{module}:{node.lineno}: import inside a function or class")
    for name in names:
      imported = room_of(name)
      if importer in _LAYER and imported in _LAYER and _LAYER[imported] > _LAYER[importer]:
        found.append(f"{module}:{node.lineno}: {importer} (layer {_LAYER[importer]}) "
                     f"imports {imported} (layer {_LAYER[imported]})")
  return found


def _modules():
  for parent, _, files in os.walk(PACKAGE):
    for name in sorted(files):
      if name.endswith(".py"):
        path = os.path.join(parent, name)
        relative = os.path.relpath(path, ROOT)[:-len(".py")]
        yield relative.replace(os.sep, ".").removesuffix(".__init__"), path


def test_every_room_has_a_layer():
  rooms = {room_of(module) for module, _ in _modules()} - {"__init__"}
  assert rooms - set(_LAYER) == set(), "place new modules in LAYERS"


def test_no_lower_layer_imports_a_higher_one_and_no_function_local_imports():
  found = []
  for module, path in _modules():
    with open(path) as f:
      found += problems(module, f.read())
  assert not found, "\n".join(found)


@pytest.mark.parametrize("source, expected", [
    ("from compare_ssgan.evaluation import job\n", "imports evaluation"),
    ("def f():\n  from compare_ssgan.gans import gan\n", "inside a function"),
    ("class C:\n  import compare_ssgan.validate\n", "inside a function or class"),
])
def test_the_check_finds_a_back_arrow_and_a_late_import(source, expected):
  (problem,) = problems("compare_ssgan.training.trainer", source)
  assert expected in problem
  assert not problems("compare_ssgan.main", "from compare_ssgan.evaluation import job\n")
