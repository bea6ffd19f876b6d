"""The static OpenAPI description matches the routes the app really serves."""

from __future__ import annotations

import httpx
from starlette.routing import Mount, Route

from mailcheck.serve import ServeConfig, create_app
from tests.serve.live import LiveServer


def served_paths() -> set[tuple[str, str]]:
    app = create_app(ServeConfig())
    found: set[tuple[str, str]] = set()

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount) and route.path != "/static":
                walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        found.add((prefix + route.path, method.lower()))

    walk(list(app.routes), "")
    return found


def test_every_api_route_is_described_and_nothing_else(live: LiveServer) -> None:
    document = httpx.get(live.url + "/api/v1/openapi.json").json()
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    api = {
        (p, m)
        for p, m in served_paths()
        if p.startswith(("/api/", "/healthz", "/metrics", "/unsubscribe"))
    }
    assert described == api
    assert document["openapi"].startswith("3.1")


PUBLIC = ("/healthz", "/unsubscribe", "/api/v1/openapi.json", "/api/v1/schema/report.json")


def test_every_operation_says_its_security_and_problem_responses(live: LiveServer) -> None:
    document = httpx.get(live.url + "/api/v1/openapi.json").json()
    for path, item in document["paths"].items():
        for operation in item.values():
            public = operation.get("security") == []
            assert public == (path in PUBLIC), path
            if not public:
                assert {"401", "429"} <= set(operation["responses"]), path


def test_public_documents_answer_without_a_token(live: LiveServer) -> None:
    schema = httpx.get(live.url + "/api/v1/schema/report.json")
    assert schema.status_code == 200
    assert schema.json()["$schema"].startswith("https://json-schema.org/")
