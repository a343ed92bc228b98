"""The FastAPI application of one annotation project.

Annotator routes (signed in): ``GET /`` the page, ``GET /api/next`` the next pair,
``POST /api/judgements`` an answer, ``POST /api/undo`` withdraw the last answer,
``GET /images/<name>`` an image of the project. Admin routes: ``GET /admin``,
``GET /admin/api/stats``, ``POST /admin/export`` (form), ``POST /admin/api/gold`` (JSON).
``GET /invite/<token>`` signs in. Handlers are plain functions run in the thread pool, because
the store is synchronous; each write commits before its response is sent.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.resources import files
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.sessions import SessionMiddleware

from depthforge.annotate.export import AGGREGATIONS, project_stats, write_export
from depthforge.annotate.project import EXPORTS, AnnotationProject
from depthforge.annotate.schema import Annotator
from depthforge.annotate.web.guards import (
    BodyLimit,
    SecurityHeaders,
    check_csrf,
    current_admin,
    current_annotator,
    install_error_handlers,
    json_post_guard,
    sign_in,
)
from depthforge.annotate.web.plot import accuracy_chart

MAX_BODY_BYTES = 16 * 1024
"""Largest request body accepted (answers and gold pairs are a few dozen bytes)."""
SESSION_DAYS = 30
HERE = files("depthforge.annotate.web")
Signed = Annotated[Annotator, Depends(current_annotator)]
Admin = Annotated[Annotator, Depends(current_admin)]
Posting = Annotated[Annotator, Depends(json_post_guard)]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: int = Field(ge=1)
    answer: Literal["A", "B", "=", "?"]


class GoldIn(BaseModel):
    """An admin's gold pair: 0-based ``[y, x]`` points and relation (+1: A farther)."""

    model_config = ConfigDict(extra="forbid")
    image: str = Field(max_length=500)
    a: tuple[int, int]
    b: tuple[int, int]
    relation: Literal[-1, 0, 1]


def create_app(project: AnnotationProject, *, secure_cookies: bool = False) -> FastAPI:
    """The application serving ``project``.

    Args:
        secure_cookies: mark the session cookie ``Secure`` (set it when serving over HTTPS,
            e.g. behind a TLS proxy; a loopback HTTP server needs it off).
    """
    app = FastAPI(title="depthforge annotate", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.project = project
    store = project.store
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.add_middleware(
        SessionMiddleware,
        secret_key=project.secret,
        session_cookie="depthforge_annotate",
        max_age=SESSION_DAYS * 24 * 3600,
        same_site="lax",
        https_only=secure_cookies,
    )
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    install_error_handlers(app)

    @app.get("/invite/{token}")
    def invite(token: str, request: Request):
        annotator = store.authenticate(token)
        if annotator is None:
            raise HTTPException(401, "unknown or revoked invite")
        sign_in(request, annotator)
        return RedirectResponse("/admin" if annotator.is_admin else "/", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, who: Signed):
        context = {"name": who.name, "csrf": request.session["csrf"], "admin": who.is_admin}
        return templates.TemplateResponse(request, "annotate.html", context)

    @app.get("/api/next")
    def next_pair(who: Signed):
        task = store.next_task(who.id)
        return {
            "task": None if task is None else task.to_json(),
            "progress": store.progress(who.id),
        }

    @app.post("/api/judgements", status_code=201)
    def submit(body: Answer, who: Posting):
        result = store.submit(who.id, body.task_id, body.answer)
        return {**result, "progress": store.progress(who.id)}

    @app.post("/api/undo")
    def undo(who: Posting):
        task = store.undo(who.id)
        return {"task": task.to_json(), "progress": store.progress(who.id)}

    @app.get("/images/{name:path}")
    def image(name: str, who: Signed):
        path = project.image_file(name)
        if path is None:
            raise HTTPException(404, "no such image in this project")
        return FileResponse(path, headers={"cache-control": "private, max-age=3600"})

    @app.get("/admin", response_class=HTMLResponse)
    def admin(request: Request, who: Admin, exported: str | None = None):
        stats = project_stats(store)
        exports = sorted(p.name for p in (project.root / EXPORTS).glob("*") if p.is_dir())
        context = {
            "name": who.name,
            "csrf": request.session["csrf"],
            "stats": stats,
            "chart": accuracy_chart(stats["annotators"]),
            "aggregations": AGGREGATIONS,
            "exports": exports,
            "exported": exported if exported in exports else None,
        }
        return templates.TemplateResponse(request, "admin.html", context)

    @app.get("/admin/api/stats")
    def stats(who: Admin):
        return project_stats(store)

    @app.post("/admin/export")
    def export(
        request: Request,
        who: Admin,
        csrf_token: Annotated[str, Form(max_length=200)],
        aggregation: Annotated[Literal["majority", "dawid_skene"], Form()],
    ):
        check_csrf(request, csrf_token)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        name = f"{aggregation}-{stamp}"
        write_export(store, project.images_dir, project.root / EXPORTS / name, aggregation)
        return RedirectResponse(f"/admin?exported={name}", status_code=303)

    @app.post("/admin/api/gold", status_code=201)
    def gold(body: GoldIn, who: Posting):
        if not who.is_admin:
            raise HTTPException(403, "admin only")
        pair_id = store.add_gold_pair(body.image, (*body.a, *body.b), body.relation)
        return {"pair_id": pair_id}

    return app
