"""The OpenAPI 3.1 description of the API, declared next to each route and generated from the router.

A handler declares itself with :func:`operation` (below its ``@routes`` line); shapes come from
``components`` or are built with the helpers of ``schema``; :func:`build_document` walks the router.
"""

from sfa.web.openapi.document import UndeclaredRoutes, build_document
from sfa.web.openapi.operation import (
    PAGINATION,
    Link,
    Param,
    Reply,
    data_reply,
    file_reply,
    no_content,
    operation,
    page_reply,
    track_links,
)

__all__ = ["PAGINATION", "Link", "Param", "Reply", "UndeclaredRoutes", "build_document", "data_reply", "file_reply",
           "no_content", "operation", "page_reply", "track_links"]
