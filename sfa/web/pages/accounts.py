"""Browser pages for accounts: register, log in, log out, settings (password and API keys)."""

from __future__ import annotations

from html import escape

from aiohttp import web
from aiohttp_session import get_session

from sfa.accounts.passwords import password_problems
from sfa.accounts.sessions import close_all_sessions, close_session
from sfa.accounts.tokens import MAX_NAME_LENGTH, create_api_token, list_api_tokens, revoke_api_token
from sfa.accounts.users import (
    EmailTaken,
    authenticate_password,
    create_user,
    email_problems,
    set_password,
)
from sfa.ids import parse_id
from sfa.web.auth import SESSION_TOKEN, identify
from sfa.web.csrf import csrf_token
from sfa.web.keys import DATABASE, TOKEN_CACHE
from sfa.web.pages.forms import checked_form, signed_in
from sfa.web.pages.layout import button_form, errors_list, hidden_csrf, render
from sfa.web.pages.login import log_in_user
from sfa.web.pages.spotify_auth import spotify_settings

routes = web.RouteTableDef()

NEW_TOKEN_FLASH = "new_api_token"


def _credentials_form(action: str, submit: str, csrf: str, email: str = "") -> str:
    return (f'<form method="post" action="{action}">{hidden_csrf(csrf)}'
            f'<label for="email">Email</label><input id="email" type="email" name="user[email]" '
            f'value="{escape(email)}" required>'
            f'<label for="password">Password</label><input id="password" type="password" '
            f'name="user[password]" required><button type="submit">{submit}</button></form>')


async def _page(request: web.Request, title: str, body: str, *, status: int = 200) -> web.Response:
    session = await get_session(request)
    return render(title, body, user=await identify(request), csrf=csrf_token(session), status=status)


@routes.get("/users/register")
async def register_form(request: web.Request) -> web.Response:
    csrf = csrf_token(await get_session(request))
    return await _page(request, "Register", _credentials_form("/users/register", "Create account", csrf))


@routes.post("/users/register")
async def register(request: web.Request) -> web.Response:
    form = await checked_form(request)
    email, password = form.get("user[email]", "").strip(), form.get("user[password]", "")
    errors = {k: v for k, v in {"email": email_problems(email), "password": password_problems(password)}.items() if v}
    if not errors:
        try:
            return await log_in_user(request, await create_user(request.app[DATABASE], email, password))
        except EmailTaken:
            errors = {"email": ["has already been taken"]}
    csrf = csrf_token(await get_session(request))
    body = errors_list(errors) + _credentials_form("/users/register", "Create account", csrf, email)
    return await _page(request, "Register", body, status=422)


@routes.get("/users/log_in")
@routes.get("/users/log-in")
async def log_in_form(request: web.Request) -> web.Response:
    csrf = csrf_token(await get_session(request))
    return await _page(request, "Log in", _credentials_form("/users/log_in", "Log in", csrf))


@routes.post("/users/log_in")
@routes.post("/users/log-in")
async def log_in(request: web.Request) -> web.Response:
    form = await checked_form(request)
    email = form.get("user[email]", "").strip()
    user = await authenticate_password(request.app[DATABASE], email, form.get("user[password]", ""))
    if user is not None and user.active:
        return await log_in_user(request, user)
    message = "account suspended" if user is not None else "invalid email or password"
    csrf = csrf_token(await get_session(request))
    body = f'<p class="error">{message}</p>' + _credentials_form("/users/log_in", "Log in", csrf, email)
    return await _page(request, "Log in", body, status=401 if user is None else 403)


@routes.delete("/users/log-out")
@routes.post("/users/log-out")
async def log_out(request: web.Request) -> web.Response:
    await checked_form(request)
    session = await get_session(request)
    if isinstance(session.get(SESSION_TOKEN), str):
        await close_session(request.app[DATABASE], session[SESSION_TOKEN])
    session.invalidate()
    raise web.HTTPFound("/")


def _tokens_table(tokens: list, csrf: str) -> str:
    if not tokens:
        return ('<p class="empty">No API keys yet. Create one to call the REST API with '
                "<code>Authorization: Bearer …</code>.</p>")
    rows = "".join(
        f"<tr><td>{escape(t.name)}</td><td><code>{escape(t.prefix)}…</code></td>"
        f"<td>{t.inserted_at:%Y-%m-%d}</td><td>{'revoked' if t.revoked_at else 'active'}</td><td>"
        + ("" if t.revoked_at else button_form(f"/users/settings/api-keys/{t.id}", "Revoke", csrf, method="delete"))
        + "</td></tr>"
        for t in tokens)
    return f"<table><tr><th>name</th><th>token</th><th>created</th><th>state</th><th></th></tr>{rows}</table>"


@routes.get("/users/settings")
async def settings(request: web.Request, errors: dict[str, list[str]] | None = None, status: int = 200,
                   notice: str = "") -> web.Response:
    user = await signed_in(request)
    session = await get_session(request)
    csrf = csrf_token(session)
    new_token = session.pop(NEW_TOKEN_FLASH, None)
    if new_token:
        notice = (f'<p class="notice">Your new API key, shown this once: <code id="new-api-key">'
                  f"{escape(new_token)}</code><br>Use it as <code>Authorization: Bearer …</code>.</p>")
    tokens = await list_api_tokens(request.app[DATABASE], user.id)
    body = f"""{notice}{errors_list(errors or {})}
{await spotify_settings(request, user, csrf)}
<h2>API keys</h2>{_tokens_table(tokens, csrf)}
<form method="post" action="/users/settings/api-keys">{hidden_csrf(csrf)}
<label for="key-name">Name</label><input id="key-name" type="text" name="name" maxlength="{MAX_NAME_LENGTH}" required>
<button type="submit">Create API key</button></form>
<h2>Password</h2>
<form method="post" action="/users/settings">{hidden_csrf(csrf)}<input type="hidden" name="_method" value="put">
<label for="current">Current password</label><input id="current" type="password" name="current_password" required>
<label for="new">New password</label><input id="new" type="password" name="user[password]" required>
<button type="submit">Change password</button></form>"""
    return await _page(request, "Settings", body, status=status)


@routes.put("/users/settings")
@routes.post("/users/settings")
async def update_settings(request: web.Request) -> web.Response:
    user = await signed_in(request)
    form = await checked_form(request)
    database = request.app[DATABASE]
    password = form.get("user[password]", "")
    errors = {"password": password_problems(password)} if password_problems(password) else {}
    if await authenticate_password(database, user.email, form.get("current_password", "")) is None:
        errors["current_password"] = ["is not valid"]
    if errors:
        return await settings(request, errors, 422)
    await set_password(database, user.id, password)
    async with database.pool.acquire() as conn:
        await close_all_sessions(conn, user.id)
    return await log_in_user(request, user)


@routes.post("/users/settings/api-keys")
async def create_key(request: web.Request) -> web.Response:
    user = await signed_in(request)
    name = (await checked_form(request)).get("name", "").strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        return await settings(request, {"name": [f"should be 1 to {MAX_NAME_LENGTH} characters"]}, 422)
    _, secret = await create_api_token(request.app[DATABASE], user.id, name)
    (await get_session(request))[NEW_TOKEN_FLASH] = secret
    raise web.HTTPFound("/users/settings")


@routes.delete("/users/settings/api-keys/{id:\\d{1,18}}")
@routes.post("/users/settings/api-keys/{id:\\d{1,18}}")
async def revoke_key(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await checked_form(request)
    token_id = parse_id(request.match_info["id"])
    if token_id is None or not await revoke_api_token(request.app[DATABASE], user.id, token_id):
        raise web.HTTPNotFound(text="no such API key\n")
    request.app[TOKEN_CACHE].forget_user(user.id)
    raise web.HTTPFound("/users/settings")
