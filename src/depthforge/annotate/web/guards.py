"""Request guards: a cap on request bodies, security headers, sign-in and CSRF checks, and the
exception handlers that turn every refusal into a 4xx with a one-line JSON error.

Sessions are Starlette's signed cookies (``SessionMiddleware``, itsdangerous): the cookie holds
the annotator id and a CSRF token, signed with the project's secret; a cookie with a bad
signature is ignored, so a forged session is the same as none. Every state-changing request
carries the CSRF token: JSON posts in the ``X-CSRF-Token`` header, forms in a ``csrf_token``
field (the synchroniser-token pattern).
"""

from __future__ import annotations

import json
import logging
import secrets

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from depthforge.annotate.schema import Annotator
from depthforge.annotate.store import StoreError
from depthforge.errors import DepthforgeError

_log = logging.getLogger("depthforge.annotate")
CSRF_HEADER = "x-csrf-token"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),  # invite links carry a token
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
]


async def _send_error(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: refuse (413) a request body larger than ``limit`` bytes, whether it
    declares its length or streams it, before any route sees it."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        too_big = f"request body larger than {self.limit} bytes"
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _send_error(send, 413, too_big)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await _send_error(send, 413, too_big)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)


def sign_in(request: Request, annotator: Annotator) -> None:
    """Start a fresh session (a new CSRF token; nothing kept from before)."""
    request.session.clear()
    request.session.update({"annotator": annotator.id, "csrf": secrets.token_urlsafe(32)})


def current_annotator(request: Request) -> Annotator:
    """The signed-in annotator, or 401."""
    annotator_id = request.session.get("annotator")
    annotator = None
    if isinstance(annotator_id, int):
        annotator = request.app.state.project.store.annotator(annotator_id)
    if annotator is None:
        raise HTTPException(401, "not signed in: open your invite link")
    return annotator


def current_admin(request: Request) -> Annotator:
    annotator = current_annotator(request)
    if not annotator.is_admin:
        raise HTTPException(403, "admin only")
    return annotator


def check_csrf(request: Request, token: str | None) -> None:
    """403 unless ``token`` is the session's CSRF token."""
    expected = request.session.get("csrf")
    if not (isinstance(expected, str) and isinstance(token, str)) or not secrets.compare_digest(
        expected, token
    ):
        raise HTTPException(403, "missing or wrong CSRF token")


def json_post_guard(request: Request) -> Annotator:
    """Dependency of JSON posts: signed in, CSRF header right, body declared as JSON."""
    annotator = current_annotator(request)
    check_csrf(request, request.headers.get(CSRF_HEADER))
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "the body must be application/json")
    return annotator


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal as ``{"error": "<one line>"}`` with its 4xx status."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, exc: StarletteHTTPException):
        return JSONResponse({"error": _one_line(exc.detail)}, exc.status_code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse({"error": _one_line(f"{where}: {first.get('msg')}")}, 422)

    @app.exception_handler(StoreError)
    async def refused(_request, exc: StoreError):
        return JSONResponse({"error": _one_line(str(exc))}, exc.status)

    @app.exception_handler(OperationalError)
    async def busy(_request, exc: OperationalError):  # e.g. SQLite's lock wait timed out
        _log.warning("database error: %s", _one_line(str(exc.orig)))
        return JSONResponse({"error": "the database is busy; nothing was stored, retry"}, 503)

    @app.exception_handler(Exception)
    async def unexpected(_request, exc: Exception):  # a bug: logged, answered in one line
        _log.exception("unexpected error")
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, 500)

    @app.exception_handler(DepthforgeError)
    async def bad_input(_request, exc: DepthforgeError):  # e.g. an export that cannot be written
        return JSONResponse({"error": _one_line(str(exc))}, 400)
