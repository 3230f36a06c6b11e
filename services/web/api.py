"""The pages' way to the APIs: the signed-in user's own rights, over HTTP.

Every page reads and writes through the same REST routes that integrations use, with a bearer token minted for
the signed-in user (same `sub`, org and roles, a few minutes long). So a page can never show or change more than
that user's API calls could: role and org checks live in one place. Embedded mode sends the requests through this
app's own ASGI interface (no socket); distributed mode sends them to `PITCHCRAFT_WEB_API_URL` (the router).
"""

from __future__ import annotations

from typing import Any, cast

import httpx
from litestar import Request

from services.core.auth import Principal, issue_token
from services.core.context import AppContext

TIMEOUT_S = 60.0


class ApiError(Exception):
    """An API answer other than 2xx, with the API's own code and message (shown to the user as they are)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def field_messages(self) -> list[str]:
        """Validation details as 'field: what is wrong' lines."""
        if not isinstance(self.details, list):
            return []
        lines = []
        for item in self.details:
            if isinstance(item, dict):
                key = str(item.get("key") or item.get("field") or item.get("loc") or "").strip()
                lines.append(f"{key}: {item.get('message', '')}" if key else str(item.get("message", "")))
        return lines


def api_error(response: httpx.Response) -> ApiError:
    """The API's error body as an `ApiError`; any other body (not JSON, not the error shape) gives its text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    found = body.get("error") if isinstance(body, dict) else None
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    return ApiError(
        response.status_code,
        str(error.get("code", "error")),
        str(error.get("message") or response.text[:300] or response.reason_phrase),
        error.get("details"),
    )


class Api:
    def __init__(self, ctx: AppContext, app: Any, principal: Principal, request_id: str | None = None) -> None:
        settings = ctx.settings
        token = issue_token(
            settings.jwt_secret(),
            sub=principal.sub,
            org=principal.org,
            roles=[r.value for r in principal.roles],
            ttl_seconds=settings.web.api_token_seconds,
        )
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if request_id:
            headers["X-Request-ID"] = request_id
        if settings.web.api_url:
            self._client = httpx.AsyncClient(
                base_url=settings.web.api_url.rstrip("/"), timeout=TIMEOUT_S, headers=headers
            )
        else:
            self._client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=cast(Any, app)),
                base_url="http://pitchcraft.internal",
                timeout=TIMEOUT_S,
                headers=headers,
            )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(503, "unavailable", f"the service did not answer ({type(exc).__name__}); try again") from exc
        if response.status_code >= 400:
            raise api_error(response)
        return response

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return (await self.request("GET", path, params=clean)).json()

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = await self.request("POST", path, json=json, **kwargs)
        return response.json() if response.content else None

    async def put(self, path: str, json: Any = None) -> Any:
        return (await self.request("PUT", path, json=json)).json()

    async def patch(self, path: str, json: Any = None) -> Any:
        return (await self.request("PATCH", path, json=json)).json()

    async def delete(self, path: str) -> None:
        await self.request("DELETE", path)


def api_for(request: Request[Any, Any, Any], principal: Principal) -> Api:
    ctx: AppContext = request.app.state.ctx
    return Api(ctx, request.app, principal, request.headers.get("x-request-id"))
