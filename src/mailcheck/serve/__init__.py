"""``mailcheck serve``: the JSON API (``/api/v1``) and the report pages, as an ASGI app.

The service has no logic of its own: it runs the library's checks (``audit_domain``,
``check_ip``, the provider dataset, the spool's read-only views) and renders their results
as JSON, HTML (French or English) and Prometheus metrics. Mount it in an existing ASGI
deployment with :func:`create_app`; ``mailcheck serve`` runs it under uvicorn.

Example:
    >>> from mailcheck.serve import ServeConfig, create_app  # doctest: +SKIP
    >>> app = create_app(ServeConfig(tokens=("s3cret-token",)))  # doctest: +SKIP
"""

from __future__ import annotations

import typing

from mailcheck import _lazy

_EXPORTS = {
    "ServeConfig": "mailcheck.serve.config",
    "create_app": "mailcheck.serve.app",
    "read_tokens": "mailcheck.serve.config",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
    from mailcheck.serve.app import create_app
    from mailcheck.serve.config import ServeConfig, read_tokens

__all__ = ["ServeConfig", "create_app", "read_tokens"]
