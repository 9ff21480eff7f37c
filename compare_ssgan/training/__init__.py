"""The traced multi-step training loop, strategies, checkpoints and summaries."""
# Every module with gin configurables, so that importing the package registers them.
# pylint: disable=unused-import
from compare_ssgan.training import trainer
