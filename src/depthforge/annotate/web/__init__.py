"""The web layer: :func:`create_app` builds the FastAPI application of a project."""

from depthforge.annotate.web.app import create_app

__all__ = ["create_app"]
