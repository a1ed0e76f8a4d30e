"""The HTTP front end: REST under ``/api``, browser pages, health, and the Phoenix channel endpoint."""

from sfa.web.access_log import AccessLogger
from sfa.web.app import make_app
from sfa.web.serving import app_runner, serve

__all__ = ["AccessLogger", "app_runner", "make_app", "serve"]
