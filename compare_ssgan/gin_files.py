"""Finding and parsing the runs' gin files (no flags, so any command line can use it)."""
import os

from absl import app
import gin

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_gin(config_files, bindings):
  """Parses configs; a missing file, unknown configurable or parameter fails here, naming it."""
  gin.add_config_file_search_path(REPO_ROOT)  # For the files' `include`s.
  config_files = [find_config_file(path) for path in config_files]
  try:
    gin.parse_config_files_and_bindings(config_files, bindings)
  except (ValueError, KeyError, OSError, SyntaxError) as e:
    raise app.UsageError(f"Bad gin configuration: {e}") from e


def find_config_file(path):
  """`path` as given, else relative to the repository root (as gin_configs/... in the docs).

  Gin's own lookup would take a missing `dir/file.gin` for a Python package and fail with
  a TypeError that names nothing.
  """
  candidates = [path] if os.path.isabs(path) else [path, os.path.join(REPO_ROOT, path)]
  for candidate in candidates:
    if os.path.isfile(candidate):
      return candidate
  raise app.UsageError(f"--gin_config={path}: no such file (looked for "
                       f"{[os.path.abspath(c) for c in candidates]}).")
