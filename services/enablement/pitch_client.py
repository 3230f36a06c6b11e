"""The pitch service, over HTTP: persona-lead and phrasing items are keyed from pitch's own selection.

Distributed mode calls `PITCHCRAFT_PITCH_URL`. Embedded mode, where this app serves the pitch routes too,
sends the same HTTP request through the app's own ASGI interface (same routes, auth and validation; no
socket). The caller's bearer token is forwarded, so pitch answers with the caller's org and rights.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.core.errors import AppError, Unprocessable

TIMEOUT_S = 30.0


class PitchUnavailable(AppError):
    status_code = 503
    code = "pitch_unavailable"


class PitchClient:
    def __init__(self, transport_or_url: httpx.AsyncBaseTransport | str, authorization: str) -> None:
        if isinstance(transport_or_url, str):
            self._client = httpx.AsyncClient(base_url=transport_or_url.rstrip("/"), timeout=TIMEOUT_S)
        else:
            self._client = httpx.AsyncClient(
                transport=transport_or_url, base_url="http://pitchcraft.internal", timeout=TIMEOUT_S
            )
        self._headers = {"Authorization": authorization, "Accept": "application/json"}

    async def __aenter__(self) -> PitchClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, json: Any = None) -> Any:
        try:
            response = await self._client.request(method, path, json=json, headers=self._headers)
        except httpx.HTTPError as exc:
            raise PitchUnavailable(f"the pitch service did not answer ({type(exc).__name__}); try again") from exc
        if response.status_code == 422 or response.status_code == 404:
            raise Unprocessable(
                f"the pitch service refused: {response.json().get('error', {}).get('message', response.text)}"
            )
        if response.status_code != 200:
            raise PitchUnavailable(f"the pitch service answered {response.status_code}; try again")
        return response.json()

    async def talk_track(self, persona: str, max_features: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", "/pitch/v1/talk-tracks", {"persona": persona, "max_features": max_features}
        )
        return result

    async def personas(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", "/pitch/v1/personas")
        return result
