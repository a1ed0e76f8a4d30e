"""The HTTP front end: REST under ``/api``, browser pages, health, and the Phoenix channel endpoint."""

from sfa.web.app import ACCESS_LOG_FORMAT, make_app
from sfa.web.serving import app_runner, serve

__all__ = ["ACCESS_LOG_FORMAT", "app_runner", "make_app", "serve"]
