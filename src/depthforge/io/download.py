"""Download a file into the cache: progress bar, atomic write, checksum, offline mode.

* The cache folder is ``$DEPTHFORGE_CACHE`` (default ``~/.cache/depthforge``); downloads go to
  ``<cache>/downloads/``.
* ``DEPTHFORGE_OFFLINE=1`` forbids every download: a file not already in the cache is a one-line
  :class:`DownloadError` naming the URL and how to convert a file downloaded by hand.
* A download is written to a temporary name beside the target, its size checked against the
  server's ``Content-Length`` and its SHA-256 against the known digest (or printed when none is
  known), and only then renamed to the target: an interrupted or corrupt download never sits
  under the target name, so a later run can never use half a file.
* Only ``http(s)://`` (and ``file://`` for local mirrors) URLs are fetched, with the standard
  library; nothing is downloaded at import time.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.client import HTTPException
from pathlib import Path

from depthforge.errors import DepthforgeError
from depthforge.io.image import atomic_path

CACHE_ENV = "DEPTHFORGE_CACHE"
OFFLINE_ENV = "DEPTHFORGE_OFFLINE"
CHUNK = 1 << 20
USER_AGENT = "depthforge (https://pypi.org/project/depthforge)"


class DownloadError(DepthforgeError):
    """A file could not be downloaded (offline, unreachable, interrupted, wrong checksum)."""


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache folder: ``override``, else ``$DEPTHFORGE_CACHE``, else ``~/.cache/depthforge``."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "depthforge"


def is_offline() -> bool:
    """True when ``$DEPTHFORGE_OFFLINE`` is set to anything but ``""``, ``0``, ``false`` or ``no``."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest (a hashlib algorithm name: ``sha256``, ``md5`` …) of a file, read by 1 MiB."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    urls: str | Sequence[str],
    dest: str | Path,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    hint: str = "",
) -> Path:
    """Return ``dest``, downloading it from the first URL of ``urls`` that answers if absent.

    Args:
        urls: one URL, or several tried in order (the original first, mirrors after).
        dest: the target file; when it exists it is returned as it is (no request is made).
        sha256: expected hex digest; a mismatch is an error and nothing is kept. When neither
            ``sha256`` nor ``md5`` is known, the SHA-256 of the download is printed so it can be
            recorded.
        md5: expected hex MD5 digest (releases that publish only that), checked likewise.
        progress: show a rich progress bar (bytes, speed, time left) on stderr.
        timeout: seconds to wait for the server at each read.
        hint: appended to every error message (e.g. how to convert a hand-downloaded file).

    Raises:
        DownloadError: offline mode, every URL unreachable, an interrupted transfer or a
            checksum mismatch; one line naming the URL(s).
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    urls = [urls] if isinstance(urls, str) else list(urls)
    tail = f"; {hint}" if hint else ""
    if is_offline():
        raise DownloadError(
            f"{dest.name} is not in the cache and {OFFLINE_ENV} is set: download "
            f"{' or '.join(urls)} by hand{tail}"
        )
    failures = []
    for url in urls:
        try:
            digest = fetch_to(
                url,
                dest,
                expected={"sha256": sha256, "md5": md5},
                timeout=timeout,
                progress=progress,
            )
        except DownloadError as exc:
            raise DownloadError(f"{exc}{tail}") from None
        except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
            failures.append(f"{url} ({getattr(exc, 'reason', None) or exc})")
            continue
        if sha256 is None and md5 is None:
            say(f"downloaded {dest.name}: sha256 {digest} (no checksum known to compare with)")
        return dest
    raise DownloadError(f"could not download {dest.name}: {'; '.join(failures)}{tail}")


def fetch_to(
    url: str, dest: Path, *, expected: dict[str, str | None], timeout: float, progress: bool
) -> str:
    """Stream ``url`` into ``dest`` atomically; return the SHA-256 of what was written.

    The file is renamed to ``dest`` only after its size and digests were checked.

    Args:
        expected: hashlib algorithm name → expected hex digest (``None``: not checked).

    Raises:
        DownloadError: a digest differs from ``expected`` (nothing is kept).
        OSError / URLError / HTTPException: unreachable server, HTTP error, or fewer bytes than
            the announced ``Content-Length`` (the temporary file is removed either way).
        ValueError: a URL scheme other than http, https or file.
    """
    if url.split(":", 1)[0].lower() not in ("http", "https", "file"):
        raise ValueError(f"unsupported URL scheme in {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digests = {name: hashlib.new(name) for name in {"sha256", *expected}}
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked)
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        received = 0
        with (
            atomic_path(dest) as tmp,
            open(tmp, "wb") as out,
            progress_bar(dest.name, total, progress) as advance,
        ):
            while chunk := response.read(CHUNK):
                out.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
                received += len(chunk)
                advance(len(chunk))
            if total is not None and received != total:
                raise OSError(f"interrupted after {received} of {total} bytes")
            for name, want in expected.items():
                got = digests[name].hexdigest()
                if want is not None and got != want.lower():
                    raise DownloadError(
                        f"{url}: checksum mismatch ({name} {got}, expected {want}); the file "
                        "was not kept"
                    )
            out.flush()
            os.fsync(out.fileno())
    return digests["sha256"].hexdigest()


@contextmanager
def progress_bar(name: str, total: int | None, enabled: bool) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n_bytes)``; a rich bar (bytes, speed, time left) on stderr when ``enabled``."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(f"downloading {name}", total=total)
        yield lambda n: bar.advance(task, n)


def say(message: str) -> None:
    """Print a one-line notice on stderr (rich markup off)."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(message, markup=False, soft_wrap=True)
