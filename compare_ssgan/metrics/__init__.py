"""The Inception network, FID / IS / KID and the probe as metric tasks, real statistics."""
# Every module with gin configurables (metric tasks register themselves), so that
# importing the package registers them.
# pylint: disable=unused-import
from compare_ssgan.metrics import extractor
from compare_ssgan.metrics import probe
from compare_ssgan.metrics import tasks
