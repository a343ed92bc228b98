"""The download path against a loopback HTTP server (127.0.0.1 only; nothing leaves the machine)."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from depthforge.io.download import DownloadError, cache_dir, download, is_offline

PAYLOAD = bytes(range(256)) * 3000  # 768 000 bytes: several 1 MiB-chunk reads are not needed,
# but more than one socket read is


class Server:
    """A loopback server: ``/file`` serves PAYLOAD, ``/cut`` announces it all and closes halfway,
    anything else is 404. Counts the requests per path."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if self.path not in ("/file", "/cut"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                body = PAYLOAD if self.path == "/file" else PAYLOAD[: len(PAYLOAD) // 2]
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def online(monkeypatch):
    monkeypatch.delenv("DEPTHFORGE_OFFLINE", raising=False)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_writes_the_file_shows_progress_and_checks_the_digest(server, tmp_path, capsys):
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    path = download(server.url("/file"), tmp_path / "w.bin", sha256=digest, progress=True)
    assert path.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["w.bin"]
    assert "downloading w.bin" in capsys.readouterr().err


def test_cache_hit_makes_no_second_request(server, tmp_path):
    download(server.url("/file"), tmp_path / "w.bin", progress=False)
    download(server.url("/file"), tmp_path / "w.bin", progress=False)
    assert server.requests == ["/file"]


def test_unknown_digest_is_printed(server, tmp_path, capsys):
    download(server.url("/file"), tmp_path / "w.bin", progress=False)
    assert hashlib.sha256(PAYLOAD).hexdigest() in capsys.readouterr().err


def test_checksum_mismatch_is_one_line_and_leaves_no_file(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        download(server.url("/file"), tmp_path / "w.bin", sha256="0" * 64, progress=False)
    assert "\n" not in str(info.value) and server.url("/file") in str(info.value)
    assert leftovers(tmp_path) == []


def test_interrupted_download_is_never_used(server, tmp_path):
    with pytest.raises(DownloadError, match="interrupted|IncompleteRead|cut"):
        download(server.url("/cut"), tmp_path / "w.bin", progress=False)
    assert leftovers(tmp_path) == []
    # the next attempt (here from a working mirror) fetches the whole file again
    path = download([server.url("/cut"), server.url("/file")], tmp_path / "w.bin", progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/cut", "/cut", "/file"]


def test_mirror_is_tried_after_a_failing_url(server, tmp_path):
    path = download([server.url("/gone"), server.url("/file")], tmp_path / "w.bin", progress=False)
    assert path.read_bytes() == PAYLOAD


def test_offline_mode_is_a_clear_error_naming_the_url(server, tmp_path, monkeypatch):
    monkeypatch.setenv("DEPTHFORGE_OFFLINE", "1")
    assert is_offline()
    with pytest.raises(DownloadError) as info:
        download(server.url("/file"), tmp_path / "w.bin", hint="then run depthforge convert")
    message = str(info.value)
    assert server.url("/file") in message and "depthforge convert" in message
    assert "\n" not in message and server.requests == [] and leftovers(tmp_path) == []


def test_offline_mode_still_serves_the_cache(server, tmp_path, monkeypatch):
    download(server.url("/file"), tmp_path / "w.bin", progress=False)
    monkeypatch.setenv("DEPTHFORGE_OFFLINE", "1")
    assert download(server.url("/file"), tmp_path / "w.bin").read_bytes() == PAYLOAD


def test_unreachable_server_is_a_clear_error(tmp_path, server):
    url = server.url("/file")
    server.close()
    with pytest.raises(DownloadError, match="could not download w.bin") as info:
        download(url, tmp_path / "w.bin", progress=False, timeout=5)
    assert url in str(info.value) and leftovers(tmp_path) == []


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPTHFORGE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    assert cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("DEPTHFORGE_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "depthforge")


def test_md5_is_checked_when_only_it_is_known(server, tmp_path):
    good = hashlib.md5(PAYLOAD).hexdigest()
    assert download(server.url("/file"), tmp_path / "a.bin", md5=good, progress=False).is_file()
    with pytest.raises(DownloadError, match="md5"):
        download(server.url("/file"), tmp_path / "b.bin", md5="f" * 32, progress=False)
    assert leftovers(tmp_path) == ["a.bin"]
