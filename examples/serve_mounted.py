"""Mount mailcheck's service inside an existing ASGI application (Starlette, FastAPI...).

    .venv/bin/python examples/serve_mounted.py --check    # offline: one request, then exit
    .venv/bin/uvicorn examples.serve_mounted:app          # or serve it (example zones)

The panel's own app keeps its routes; mailcheck's API and pages answer under /mailcheck/
(links and static files follow the prefix). Here the DNS answers come from the example
zones; in production pass ``resolver=DnsResolver([...])`` and the tokens from a file
(``read_tokens("/etc/mailcheck/tokens")``).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from mailcheck import ZoneResolver
from mailcheck.serve import ServeConfig, create_app

ZONES = Path(__file__).parent / "zones"
TOKEN = "example-token-change-me-0123456789"


async def panel_home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("the panel's own page")


mailcheck = create_app(ServeConfig(
    tokens=(TOKEN,),
    resolver=ZoneResolver(sorted(ZONES.glob("*.zone"))),
    reputation=False,
    language="fr",
))  # fmt: skip
app = Starlette(routes=[Route("/", panel_home), Mount("/mailcheck", app=mailcheck)])


async def check() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://panel.example") as http:
        api = await http.get(
            "/mailcheck/api/v1/audit/example.org", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        for finding in api.json()["findings"]:
            print(finding["code"], "-", finding["message_localized"])
        page = await http.get("/mailcheck/report?domain=example.org&embed=1")
        print("page:", page.status_code, page.headers["content-language"], len(page.text), "bytes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="one request offline, then exit")
    if parser.parse_args().check:
        asyncio.run(check())
