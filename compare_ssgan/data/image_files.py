"""Up-front checks of image files and arrays: decodable, mode, size, layout.

The image-folder dataset and the two-set comparison both read folders of
PNG/JPEG/BMP files. Each file is fully decoded once with PIL before any work
starts, so that a bad file is named at once rather than failing mid-training
inside a TF op, and so that a folder's channel count comes from all its files,
not the first. Cost: one PIL decode of every file (threaded; about the time of
one epoch's decoding), paid each time the folder is read.

16-bit PNGs are read as TF's decoder reads them with uint8 output (libpng's
16-to-8 strip): each value's high byte, x >> 8, so 65535 -> 255 and 256 -> 1.
Training decodes with TF; `read_uint8` (the two-set comparison) follows it,
where PIL's own conversion would clip every value above 255 to 255.

Image arrays (.npz/.npy) are NHWC with 1 or 3 channels, or NHW grayscale. A
3-D array whose last dimension is 1, 3 or 4 is refused as ambiguous (one
(H, W, C) image, or N images of H x W?); see `nhwc_shape`.
"""
import concurrent.futures
import dataclasses
import io

import numpy as np
from PIL import Image
import tensorflow as tf

# PIL formats that tf.io.decode_image reads (MPO: a multi-picture JPEG).
_DECODABLE_FORMATS = ("PNG", "JPEG", "MPO", "BMP")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_PALETTE_MODES = ("P", "PA")
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
# PIL's modes of 16-bit grayscale PNGs (16-bit colour ones PIL reads as 8-bit RGB(A), by
# the high byte as TF does).
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_AMBIGUOUS_LAST_DIMS = (1, 3, 4)  # Of a 3-D array: channels, or a width?
_LISTED = 5  # Bad files named in a message.


@dataclasses.dataclass(frozen=True)
class ImageFile:
  """What PIL found in one file; `error` says why it is undecodable."""
  path: str
  error: str = None
  mode: str = None
  height: int = 0
  width: int = 0
  alpha: bool = False

  @property
  def gray(self):
    return self.mode in GRAY_MODES


def inspect(path):
  """The `ImageFile` of `path`, after a full decode of its data."""
  try:
    with tf.io.gfile.GFile(path, "rb") as f:
      data = f.read()
    with Image.open(io.BytesIO(data)) as image:
      image.verify()  # Checksums and the file's end, which load() lets pass.
    with Image.open(io.BytesIO(data)) as image:
      image.load()  # Truncated pixel data, which verify() does not decode.
  except Image.UnidentifiedImageError:
    return ImageFile(path, error="not an image format that PIL knows")
  except Exception as e:  # pylint: disable=broad-except
    # PIL raises many types (OSError, SyntaxError, ValueError...) on bad data.
    return ImageFile(path, error=f"{type(e).__name__}: {e}")
  if image.format not in _DECODABLE_FORMATS:
    return ImageFile(path, error=f"{image.format} data, not PNG/JPEG/BMP")
  if image.format == "BMP" and image.mode in ("1", "P"):
    return ImageFile(path, error="a 1-bit or palette BMP, which TensorFlow "
                     "misreads; convert it to PNG")
  return ImageFile(path, mode=image.mode, height=image.height,
                   width=image.width,
                   alpha=(image.mode in _ALPHA_MODES or
                          "transparency" in image.info))


def read_uint8(path, channels):
  """uint8 [H, W, channels] (1 or 3) of an image file, as tf.io.decode_image reads it.

  PIL converts; 16-bit grayscale is first brought to 8 bits by TF's rule (the high
  byte), not by PIL's conversion, which clips at 255.
  """
  with Image.open(path) as image:
    if image.mode in _SIXTEEN_BIT_MODES:
      image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    array = np.asarray(image.convert("L" if channels == 1 else "RGB"))
  return array.reshape(array.shape[:2] + (channels,))


def nhwc_shape(shape, name):
  """The NHWC shape of an image array of `shape`, or a ValueError naming `name`.

  NHWC with 1 or 3 channels; NHW is grayscale (N, H, W, 1) unless W is 1, 3 or 4,
  which could as well be the channels of one (H, W, C) image: that is refused with
  how to write either.
  """
  shape = tuple(shape)
  if len(shape) == 3 and shape[-1] in _AMBIGUOUS_LAST_DIMS:
    raise ValueError(
        f"{name}: a 3-D array of shape {shape} is ambiguous: one {shape[0]}x{shape[1]} "
        f"image with {shape[2]} channels, or {shape[0]} grayscale images of "
        f"{shape[1]}x{shape[2]}? Write images as a 4-D NHWC array: one image as "
        f"images[None] (shape {(1,) + shape}), grayscale images as images[..., None] "
        f"(shape {shape + (1,)}).")
  if len(shape) == 3:
    return shape + (1,)
  if len(shape) != 4 or shape[-1] not in (1, 3):
    raise ValueError(f"{name}: expected NHWC images with 1 or 3 channels (or NHW "
                     f"grayscale), got shape {shape}.")
  return shape


def inspect_all(paths):
  """The `ImageFile` of each path, in order (threads: PIL frees the GIL)."""
  with concurrent.futures.ThreadPoolExecutor() as pool:
    return list(pool.map(inspect, paths))


def describe_undecodable(files):
  """'K of N files cannot be decoded: the first few with why', or None."""
  bad = [f for f in files if f.error]
  if not bad:
    return None
  listed = "; ".join(f"{f.path} ({f.error})" for f in bad[:_LISTED])
  more = f"; and {len(bad) - _LISTED} more" if len(bad) > _LISTED else ""
  return (f"{len(bad)} of {len(files)} files cannot be decoded: "
          f"{listed}{more}")


def conversions(files, channels):
  """Clauses saying what reading `files` as `channels` channels converts."""
  gray = sum(f.gray for f in files)
  colour = len(files) - gray
  palette = sum(f.mode in _PALETTE_MODES for f in files)
  alpha = sum(f.alpha for f in files)
  said = []
  if gray and colour:
    said.append(f"{gray} grayscale and {colour} colour images: " + (
        "grayscale ones are replicated to 3 channels" if channels == 3 else
        "colour ones are converted to grayscale"))
  if palette:
    said.append(f"{palette} palette images are expanded to their colours")
  if alpha:
    said.append(f"{alpha} images have transparency, which is dropped (not "
                "composited onto a background)")
  return said
