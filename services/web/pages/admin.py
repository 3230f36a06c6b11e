"""Pages: admin. Users and roles of the admin's organisation, custom personas, API tokens for integrations.

Users and tokens are the web app's own tables (`Accounts`, always scoped to the admin's org); personas go
through the pitch API as the signed-in admin, like every other page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.core.auth import Role
from services.core.context import AppContext
from services.core.db import utcnow
from services.core.errors import AppError, NotFound
from services.web.accounts import MAX_TOKEN_DAYS, MIN_PASSWORD_CHARS, Account, MintedToken
from services.web.api import Api, ApiError
from services.web.forms import form_list, form_text
from services.web.session import accounts, page, require

ROLES = [r.value for r in Role]
TONES = ("business", "technical")
DEFAULT_TOKEN_DAYS = 90

USER_DONE = {
    "added": "User added. They can sign in now with the password you set.",
    "roles": "Roles changed. They apply from the user's next page.",
    "disabled": "User disabled and signed out everywhere. They can no longer sign in.",
    "enabled": "User enabled. They can sign in again.",
    "password": "Password reset. The user was signed out everywhere; give them the new password.",
}
PERSONA_DONE = {
    "created": "Persona created. Talk tracks can use it now.",
    "saved": "Persona saved.",
    "deleted": "Persona deleted.",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _commas(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _form_error(exc: AppError | ApiError) -> tuple[str, list[str], int]:
    if isinstance(exc, ApiError):
        return exc.message, exc.field_messages(), exc.status
    return exc.message, [], exc.status_code


class AdminPages(Controller):
    path = "/admin"

    # --- users -------------------------------------------------------------------------------------------------

    @get("/", name="admin.users")
    async def users(
        self, request: Request[Any, Any, Any], user: NamedDependency[Account], done: FromQuery[str] = ""
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        return await self._users_page(request, user, notice=USER_DONE.get(done))

    @staticmethod
    async def _users_page(
        request: Request[Any, Any, Any],
        user: Account,
        *,
        notice: str | None = None,
        error: str | None = None,
        form: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        people = await accounts(request).list_users(user.org)
        return page(
            "admin/users.html",
            user,
            title="Admin: users",
            tab="users",
            people=people,
            roles=ROLES,
            min_password=MIN_PASSWORD_CHARS,
            notice=notice,
            error=error,
            form=form or {"roles": ["rep"]},
            status_code=status_code,
        )

    @post("/users", status_code=303)
    async def add_user(self, request: Request[Any, Any, Any], user: NamedDependency[Account]) -> Response[Any]:
        require(user, Role.ADMIN)
        form = await request.form()
        entered: dict[str, Any] = {
            "email": form_text(form, "email"),
            "name": form_text(form, "name"),
            "sub": form_text(form, "sub"),
            "roles": form_list(form, "roles"),
        }
        try:
            added = await accounts(request).add_user(
                org=user.org,
                email=entered["email"],
                name=entered["name"] or None,
                sub=entered["sub"] or None,
                roles=entered["roles"],
                password=str(form.get("password") or ""),
            )
        except AppError as exc:
            return await self._users_page(request, user, error=exc.message, form=entered, status_code=exc.status_code)
        return Redirect(f"/admin/users/{added.id}?done=added", status_code=303)

    @get("/users/{user_id:str}", name="admin.user")
    async def user_page(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[Account],
        user_id: FromPath[str],
        done: FromQuery[str] = "",
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        return await self._user_page(request, user, user_id, notice=USER_DONE.get(done))

    @staticmethod
    async def _user_page(
        request: Request[Any, Any, Any],
        user: Account,
        user_id: str,
        *,
        notice: str | None = None,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        person = await accounts(request).get_user(user.org, user_id)
        return page(
            "admin/user.html",
            user,
            title=f"Admin: {person.email}",
            tab="users",
            person=person,
            roles=ROLES,
            is_self=person.id == user.id,
            min_password=MIN_PASSWORD_CHARS,
            notice=notice,
            error=error,
            status_code=status_code,
        )

    @post("/users/{user_id:str}/roles", status_code=303)
    async def change_roles(
        self, request: Request[Any, Any, Any], user: NamedDependency[Account], user_id: FromPath[str]
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        form = await request.form()
        try:
            await accounts(request).update_user(
                user.org, user_id, roles=form_list(form, "roles"), acting_user_id=user.id
            )
        except NotFound:
            raise
        except AppError as exc:
            return await self._user_page(request, user, user_id, error=exc.message, status_code=exc.status_code)
        return Redirect(f"/admin/users/{user_id}?done=roles", status_code=303)

    @post("/users/{user_id:str}/disabled", status_code=303)
    async def set_disabled(
        self, request: Request[Any, Any, Any], user: NamedDependency[Account], user_id: FromPath[str]
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        form = await request.form()
        disable = form_text(form, "disabled") == "yes"
        try:
            await accounts(request).update_user(user.org, user_id, disabled=disable, acting_user_id=user.id)
        except NotFound:
            raise
        except AppError as exc:
            return await self._user_page(request, user, user_id, error=exc.message, status_code=exc.status_code)
        return Redirect(f"/admin/users/{user_id}?done={'disabled' if disable else 'enabled'}", status_code=303)

    @post("/users/{user_id:str}/password", status_code=303)
    async def reset_password(
        self, request: Request[Any, Any, Any], user: NamedDependency[Account], user_id: FromPath[str]
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        form = await request.form()
        try:
            await accounts(request).set_password(user.org, user_id, str(form.get("password") or ""))
        except NotFound:
            raise
        except AppError as exc:
            return await self._user_page(request, user, user_id, error=exc.message, status_code=exc.status_code)
        return Redirect(f"/admin/users/{user_id}?done=password", status_code=303)

    # --- personas (through the pitch API) --------------------------------------------------------------------

    @get("/personas", name="admin.personas")
    async def personas(
        self, user: NamedDependency[Account], api: NamedDependency[Api], done: FromQuery[str] = ""
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        return await self._personas_page(user, api, notice=PERSONA_DONE.get(done))

    @staticmethod
    async def _personas_page(
        user: Account,
        api: Api,
        *,
        notice: str | None = None,
        error: str | None = None,
        errors: list[str] | None = None,
        form: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        found = await api.get("/pitch/v1/personas")
        return page(
            "admin/personas.html",
            user,
            title="Admin: personas",
            tab="personas",
            built_in=[p for p in found if p["built_in"]],
            custom=[p for p in found if not p["built_in"]],
            tones=TONES,
            notice=notice,
            error=error,
            errors=errors or [],
            form=form or _persona_form({}),
            status_code=status_code,
        )

    @post("/personas", status_code=303)
    async def create_persona(
        self, request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api]
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        form = await request.form()
        entered = _persona_entered(form)
        try:
            await api.post("/pitch/v1/personas", json=_persona_body(entered))
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            message, lines, status = _form_error(exc)
            return await self._personas_page(user, api, error=message, errors=lines, form=entered, status_code=status)
        return Redirect("/admin/personas?done=created", status_code=303)

    @get("/personas/{persona_id:str}", name="admin.persona")
    async def persona(
        self, user: NamedDependency[Account], api: NamedDependency[Api], persona_id: FromPath[str]
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        found = await _custom_persona(api, persona_id)
        return _persona_edit_page(user, _persona_form(found))

    @post("/personas/{persona_id:str}", status_code=303)
    async def update_persona(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[Account],
        api: NamedDependency[Api],
        persona_id: FromPath[str],
    ) -> Response[Any]:
        require(user, Role.ADMIN)
        form = await request.form()
        entered = {**_persona_entered(form), "id": persona_id}  # the id is the address: not editable
        try:
            await api.put(f"/pitch/v1/personas/{quote(persona_id, safe='')}", json=_persona_body(entered))
        except ApiError as exc:
            if exc.status in (401, 403, 404):
                raise
            message, lines, status = _form_error(exc)
            return _persona_edit_page(user, entered, error=message, errors=lines, status_code=status)
        return Redirect("/admin/personas?done=saved", status_code=303)

    @post("/personas/{persona_id:str}/delete", status_code=303)
    async def delete_persona(
        self, user: NamedDependency[Account], api: NamedDependency[Api], persona_id: FromPath[str]
    ) -> Redirect:
        require(user, Role.ADMIN)
        await api.delete(f"/pitch/v1/personas/{quote(persona_id, safe='')}")
        return Redirect("/admin/personas?done=deleted", status_code=303)

    # --- API tokens ----------------------------------------------------------------------------------------

    @get("/tokens", name="admin.tokens")
    async def tokens(self, request: Request[Any, Any, Any], user: NamedDependency[Account]) -> Response[Any]:
        require(user, Role.ADMIN)
        return await self._tokens_page(request, user)

    @staticmethod
    async def _tokens_page(
        request: Request[Any, Any, Any],
        user: Account,
        *,
        minted: tuple[str, MintedToken] | None = None,
        error: str | None = None,
        form: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        listed = await accounts(request).list_tokens(user.org)
        subs = [a.sub for a in await accounts(request).list_users(user.org)]
        return page(
            "admin/tokens.html",
            user,
            title="Admin: API tokens",
            tab="tokens",
            tokens=listed,
            subs=subs,
            now=utcnow(),
            roles=ROLES,
            max_days=MAX_TOKEN_DAYS,
            minted=minted,
            error=error,
            form=form or {"roles": ["rep"], "days": str(DEFAULT_TOKEN_DAYS), "label": "", "sub": ""},
            status_code=status_code,
        )

    @post("/tokens", status_code=200)
    async def mint(self, request: Request[Any, Any, Any], user: NamedDependency[Account]) -> Response[Any]:
        """Shows the new token on this response only: it is never stored, so it cannot be shown again."""
        require(user, Role.ADMIN)
        form = await request.form()
        entered: dict[str, Any] = {
            "label": form_text(form, "label"),
            "sub": form_text(form, "sub"),
            "roles": form_list(form, "roles"),
            "days": form_text(form, "days"),
        }
        ctx: AppContext = request.app.state.ctx
        try:
            days = int(entered["days"])
        except ValueError:
            return await self._tokens_page(
                request, user, error=f"days: a whole number from 1 to {MAX_TOKEN_DAYS}", form=entered, status_code=400
            )
        try:
            minted = await accounts(request).mint_token(
                secret=ctx.settings.jwt_secret(),
                org=user.org,
                label=entered["label"],
                sub=entered["sub"],
                roles=entered["roles"],
                ttl_days=days,
                created_by=user.email,
            )
        except AppError as exc:
            return await self._tokens_page(request, user, error=exc.message, form=entered, status_code=exc.status_code)
        return await self._tokens_page(request, user, minted=minted)


def _persona_entered(form: FormMultiDict) -> dict[str, Any]:
    """The persona form as typed, kept for a re-render on error."""
    return {
        "id": form_text(form, "id"),
        "name": form_text(form, "name"),
        "tone": form_text(form, "tone") or "business",
        "measured_on": form_text(form, "measured_on"),
        "priorities": form_text(form, "priorities"),
        "prefer": form_text(form, "prefer"),
        "avoid": form_text(form, "avoid"),
        "discovery_questions": form_text(form, "discovery_questions"),
        "next_step": form_text(form, "next_step"),
    }


def _persona_body(entered: dict[str, Any]) -> dict[str, Any]:
    """The API's `PersonaIn`: one phrase a line for the long lists, commas for the word stems."""
    return {
        "id": entered["id"],
        "name": entered["name"],
        "tone": entered["tone"],
        "measured_on": _lines(entered["measured_on"]),
        "priorities": _lines(entered["priorities"]),
        "prefer": _commas(entered["prefer"]),
        "avoid": _commas(entered["avoid"]),
        "discovery_questions": _lines(entered["discovery_questions"]),
        "next_step": entered["next_step"] or None,
    }


def _persona_form(persona: dict[str, Any]) -> dict[str, Any]:
    """A persona from the API as the form shows it (the reverse of `_persona_body`)."""
    return {
        "id": persona.get("id", ""),
        "name": persona.get("name", ""),
        "tone": persona.get("tone", "business"),
        "measured_on": "\n".join(persona.get("measured_on", [])),
        "priorities": "\n".join(persona.get("priorities", [])),
        "prefer": ", ".join(persona.get("prefer", [])),
        "avoid": ", ".join(persona.get("avoid", [])),
        "discovery_questions": "\n".join(persona.get("discovery_questions", [])),
        "next_step": persona.get("next_step") or "",
    }


async def _custom_persona(api: Api, persona_id: str) -> dict[str, Any]:
    for persona in await api.get("/pitch/v1/personas"):
        if persona["id"] == persona_id and not persona["built_in"]:
            found: dict[str, Any] = persona
            return found
    raise NotFound(f"no custom persona '{persona_id}' in your organisation (built-in personas cannot be edited)")


def _persona_edit_page(
    user: Account,
    form: dict[str, Any],
    *,
    error: str | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return page(
        "admin/persona.html",
        user,
        title=f"Admin: persona {form['id']}",
        tab="personas",
        form=form,
        tones=TONES,
        error=error,
        errors=errors or [],
        status_code=status_code,
    )


ROUTES: list[object] = [AdminPages]
