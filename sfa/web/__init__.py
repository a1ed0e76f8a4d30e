"""The HTTP front end: REST under ``/api``, browser pages, health, and the Phoenix channel endpoint."""

from sfa.web.access_log import AccessLogger
from sfa.web.app import make_app

__all__ = ["AccessLogger", "make_app"]
