"""compare_gan's ops and one module per architecture; `registry` names them for gin."""
# Every module with gin configurables, so that importing the package registers them.
# pylint: disable=unused-import
from compare_ssgan.architectures import base
from compare_ssgan.architectures import initializers
from compare_ssgan.architectures import normalization
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import registry
from compare_ssgan.architectures import resnet_blocks
from compare_ssgan.architectures import spectral_norm
