"""The evaluator job (one checkpoint or continuous), its results file, a run's summary."""
# Every module with gin configurables, so that importing the package registers them.
# pylint: disable=unused-import
from compare_ssgan.evaluation import evaluator
