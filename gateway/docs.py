"""/docs (Swagger UI) and /redoc served entirely by the gateway: no CDN, no inline script.

The assets come from the `fastapi-offline` package (it ships swagger-ui-dist's
bundle and CSS and ReDoc's standalone build). The pages are written here
instead of using FastAPI's helpers because those put Swagger UI's start-up code
in an inline <script>, which the Content-Security-Policy (`script-src 'self'`)
refuses; here it is a small same-origin script. Authorize uses the OAuth2
password flow against /api/auth/token, which needs no redirect page.
"""

import json
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Swagger UI</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<redoc spec-url="{openapi}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Call on an app created with docs_url=None and redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    options = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "layout": "BaseLayout",
        "deepLinking": True,
        "showExtensions": True,
        "showCommonExtensions": True,
        "persistAuthorization": True,
        "validatorUrl": None,  # the public validator is not reachable from a closed network
    }
    init_js = (
        f"window.ui = SwaggerUIBundle(Object.assign({json.dumps(options)}, "
        "{presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]}));\n"
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(title=app.title, assets=ASSETS_URL))

    @app.get("/docs/swagger-init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(init_js, media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE.format(title=app.title, assets=ASSETS_URL, openapi=openapi_url))
