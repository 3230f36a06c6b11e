"""The pages, one module per area. Each module exports ROUTES (its handlers); this list mounts them all."""

from __future__ import annotations

from services.web.pages import admin, deals, library, manager, tracks, training

ROUTES: list[object] = [
    *tracks.ROUTES,
    *training.ROUTES,
    *library.ROUTES,
    *manager.ROUTES,
    *admin.ROUTES,
    *deals.ROUTES,
]
