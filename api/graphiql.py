"""GraphiQL, served entirely by the service: the page and its assets, no CDN.

The assets come from the npm registry at set-up or build time (`npm ci` in
graphiql/, from its lock file) and are served from there; only the files the page
loads are reachable.
"""

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PAGE = (Path(__file__).parent / "graphiql.html").read_text(encoding="utf-8")
ASSETS = frozenset(
    {
        "react/umd/react.production.min.js",
        "react-dom/umd/react-dom.production.min.js",
        "graphiql/graphiql.min.js",
        "graphiql/graphiql.min.css",
        "@graphiql/plugin-explorer/dist/index.umd.js",
        "@graphiql/plugin-explorer/dist/style.css",
    }
)
# Same origin only: the page's scripts and styles, and queries to /graphql.
_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"
)


def page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"content-security-policy": _POLICY})


class GraphiQLAssets(StaticFiles):
    """The few files of graphiql/node_modules that the page loads, and nothing else."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in ASSETS:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)
