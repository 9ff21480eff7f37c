"""Fetches TF's Inception 2015-12-05 GraphDef, the one with the logits, into the cache.

The Inception Score of the published tables comes from the logits of
`classify_image_graph_def.pb` inside TF's archive `inception-2015-12-05.tgz`; the
TorchScript port behind the default weights has pool_3 only. `graphdef_path` returns the
.pb from a cache directory. If it is not there it is taken from `inception-2015-12-05.tgz`
in the same directory, placed by hand, or else the archive is downloaded, checked against
its SHA-256 and only the .pb is extracted: a regular file at the archive's top level, read
into the project's own file name (nothing else from the archive is written, and a member
with a path that leaves the archive or a link is refused). The download and the .pb go to
temporary files in the cache directory and are renamed into place once complete and
verified: a failed, truncated or mismatched download leaves nothing behind.

`$COMPARE_SSGAN_INCEPTION_URL` replaces the archive's URL (a mirror, or a file:// URL) and
`$COMPARE_SSGAN_INCEPTION_SHA256` gives the digest to check it against.
"""

import hashlib
import http.client
import os
import posixpath
import re
import tarfile
import tempfile
import urllib.request
import zlib

ARCHIVE_URL = ("http://download.tensorflow.org/models/image/imagenet/"
               "inception-2015-12-05.tgz")
ARCHIVE_NAME = "inception-2015-12-05.tgz"
PB_NAME = "classify_image_graph_def.pb"
# SHA-256 of inception-2015-12-05.tgz: the one constant to pin. None because no published
# digest of the archive was found: the code that downloads it checks none (openai/improved-gan
# inception_score/model.py, the original IS code; bioinf-jku/TTUR fid.py;
# toshas/torch-fidelity utils/util_convert_inception_weights.py; kwotsin/mimicry
# torch_mimicry/metrics/inception_model/inception_utils.py). None is made up here: until a
# digest is pinned (or given in $COMPARE_SSGAN_INCEPTION_SHA256) the archive is not
# downloaded unverified, and the .pb or the .tgz can be put in the cache by hand.
ARCHIVE_SHA256 = None
URL_ENV = "COMPARE_SSGAN_INCEPTION_URL"
SHA256_ENV = "COMPARE_SSGAN_INCEPTION_SHA256"
MAX_PB_BYTES = 1 << 30  # The real .pb has 95 MB; more is not the Inception graph.
TIMEOUT_SECS = 60
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
  """The Inception GraphDef could not be fetched, or what was fetched is refused."""


def archive_url():
  """`$COMPARE_SSGAN_INCEPTION_URL`, else TF's URL of the archive."""
  return os.environ.get(URL_ENV) or ARCHIVE_URL


def archive_sha256():
  """`$COMPARE_SSGAN_INCEPTION_SHA256`, else ARCHIVE_SHA256 (None: nothing pinned)."""
  value = os.environ.get(SHA256_ENV) or ARCHIVE_SHA256
  if value is None:
    return None
  if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
    raise ValueError(f"${SHA256_ENV} (or ARCHIVE_SHA256) is {value!r}, expected the "
                     "64 hex digits of a SHA-256.")
  return value.lower()


def _sha256_of_file(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(_CHUNK), b""):
      digest.update(chunk)
  return digest.hexdigest()


def _where_to_put(directory):
  return (f"download {ARCHIVE_URL} on a machine with network access and put the "
          f"{PB_NAME} it contains at {os.path.join(directory, PB_NAME)} (or the archive "
          f"itself at {os.path.join(directory, ARCHIVE_NAME)})")


def read_pb_member(archive_path):
  """The bytes of the archive's top-level `classify_image_graph_def.pb`.

  Raises:
    DownloadError: not a readable tarball, no single such member, a member of that name
      whose path is absolute, climbs out with '..' or sits in a subdirectory, or that is
      not a regular file (a link, a device), or is implausibly large.
  """
  try:
    with tarfile.open(archive_path, "r:*") as tar:
      members = [m for m in tar.getmembers()
                 if posixpath.basename(m.name.rstrip("/")) == PB_NAME]
      if len(members) != 1:
        raise DownloadError(f"{archive_path} has {len(members)} members named {PB_NAME}, "
                            "expected exactly one.")
      member = members[0]
      parts = member.name.split("/")
      if member.name.startswith("/") or ".." in parts:
        raise DownloadError(f"{archive_path}: refusing member {member.name!r}, whose path "
                            "leaves the archive.")
      if parts not in ([PB_NAME], [".", PB_NAME]):
        raise DownloadError(f"{archive_path}: member {member.name!r} is not at the "
                            f"archive's top level, where {ARCHIVE_NAME} has {PB_NAME}.")
      if not member.isreg():
        raise DownloadError(f"{archive_path}: refusing member {member.name!r}, which is "
                            "not a regular file (a link or a special file).")
      if member.size > MAX_PB_BYTES:
        raise DownloadError(f"{archive_path}: member {member.name!r} has {member.size} "
                            f"bytes, more than {MAX_PB_BYTES}.")
      data = tar.extractfile(member).read()
  except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
    raise DownloadError(f"{archive_path} is not a readable tarball: {e}") from e
  if len(data) != member.size:
    raise DownloadError(f"{archive_path}: member {member.name!r} is truncated "
                        f"({len(data)} of {member.size} bytes).")
  return data


def _write_atomically(path, data):
  """Writes bytes to a temporary file beside `path`, then renames it to `path`."""
  fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part",
                             dir=os.path.dirname(path))
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def _download(url, out, expected_sha256, directory):
  """Streams `url` into the open file `out`; returns (SHA-256, bytes, announced length)."""
  try:
    response = urllib.request.urlopen(url, timeout=TIMEOUT_SECS)
  except (OSError, ValueError, http.client.HTTPException) as e:  # URLError is an OSError.
    raise DownloadError(f"Could not download {url}: {getattr(e, 'reason', e)}. Offline? "
                        f"Then {_where_to_put(directory)}.") from e
  digest, size = hashlib.sha256(), 0
  try:
    with response:
      length = response.headers.get("Content-Length")
      for chunk in iter(lambda: response.read(_CHUNK), b""):
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)
  except (OSError, http.client.HTTPException) as e:  # The connection lost mid-way.
    raise DownloadError(f"The download of {url} broke off after {size} bytes ({e}); it "
                        f"was to have SHA-256 {expected_sha256}.") from e
  return digest.hexdigest(), size, int(length) if length and length.isdigit() else None


def fetch_graphdef(directory, url=None, sha256=None):
  """Downloads the archive into `directory`, verifies it, extracts the .pb; returns its path.

  Args:
    directory: where the .pb goes (created if missing); the archive is downloaded to a
      temporary file there and deleted once the .pb is extracted.
    url: defaults to `archive_url()`.
    sha256: the archive's expected SHA-256; defaults to `archive_sha256()`.

  Raises:
    DownloadError: no digest to check against, offline, a truncated download or one
      whose SHA-256 differs (the message names the URL and the expected digest), or an
      archive `read_pb_member` refuses. Nothing is left in `directory` then.
  """
  url = url or archive_url()
  sha256 = (sha256 or archive_sha256() or "").lower() or None
  if sha256 is None:
    raise DownloadError(
        f"No SHA-256 of {ARCHIVE_NAME} is pinned (no published digest was found), so it "
        f"is not downloaded unverified. Set ${SHA256_ENV} to the digest of a copy you "
        f"trust, or {_where_to_put(directory)}.")
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f".{ARCHIVE_NAME}.", suffix=".part", dir=directory)
  try:
    with os.fdopen(fd, "wb") as out:
      actual, size, length = _download(url, out, sha256, directory)
    if length is not None and size != length:
      raise DownloadError(f"The download of {url} is truncated: {size} of {length} bytes; "
                          f"it was to have SHA-256 {sha256}.")
    if actual != sha256:
      raise DownloadError(
          f"{url} ({ARCHIVE_NAME}, {size} bytes) has SHA-256 {actual}, expected {sha256}: "
          "the download is truncated, corrupted or not the official archive. Nothing was "
          f"kept in {directory}.")
    path = os.path.join(directory, PB_NAME)
    _write_atomically(path, read_pb_member(tmp))
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


def graphdef_path(directory):
  """The cached `classify_image_graph_def.pb` in `directory`, fetched if not there.

  A .pb put there by hand is used as it is; a hand-placed `inception-2015-12-05.tgz` is
  checked against the pinned digest (when one is pinned) and its .pb extracted.
  """
  path = os.path.join(directory, PB_NAME)
  if os.path.isfile(path):
    return path
  archive = os.path.join(directory, ARCHIVE_NAME)
  if os.path.isfile(archive):
    expected = archive_sha256()
    actual = _sha256_of_file(archive)
    if expected is not None and actual != expected:
      raise DownloadError(f"{archive} has SHA-256 {actual}, expected {expected}: it is "
                          "truncated, corrupted or not the official archive; replace it.")
    _write_atomically(path, read_pb_member(archive))
    return path
  return fetch_graphdef(directory)
