"""HTML for the browser pages: one document (the bundle's stylesheet and script, the navigation), escaped
values, forms that carry the CSRF token. Live pages put their container where a plain page puts its body."""

from __future__ import annotations

from html import escape

from aiohttp import web

from sfa.accounts.roles import at_least
from sfa.accounts.users import User
from sfa.web.assets import asset_url
from sfa.web.csrf import FIELD
from sfa.web.live.template import Template

TITLE_SUFFIX = " · Sound Forge Alchemy"


def hidden_csrf(token: str) -> str:
    return f'<input type="hidden" name="{FIELD}" value="{escape(token)}">'


def button_form(action: str, label: str, csrf: str, *, method: str = "post") -> str:
    override = "" if method == "post" else f'<input type="hidden" name="_method" value="{method}">'
    return (f'<form class="inline" method="post" action="{escape(action)}">{hidden_csrf(csrf)}{override}'
            f'<button type="submit">{escape(label)}</button></form>')


NAV = Template(
    '<nav aria-label="main"><a class="brand" href="/"><strong>Sound Forge Alchemy</strong></a>'
    '<span class="grow"></span>{% if user %}<a href="/">Tracks</a> <a href="/import">Import</a> '
    '<a href="/chat">Chat</a> {% if at_least(user.role, "admin") %}<a href="/admin">Admin</a> {% end %}'
    '<a href="/users/settings">Settings</a> <span class="who" id="who">{user.email} ({user.role})</span> '
    '<form class="inline" method="post" action="/users/log-out"><input type="hidden" name="_csrf_token" '
    'value="{csrf}"><input type="hidden" name="_method" value="delete"><button type="submit">Log out</button>'
    '</form>{% else %}<a href="/users/log_in">Log in</a> <a href="/users/register">Register</a>{% end %}</nav>',
    helpers={"at_least": at_least})
"""The navigation of every page, plain or live (where it is part of the view, so role changes show)."""


def document(title: str, body: str, *, csrf: str, head: str = "", status: int = 200) -> web.Response:
    """The whole page around ``body`` (navigation included by the caller)."""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{escape(csrf)}">{head}
<title data-suffix="{escape(TITLE_SUFFIX)}">{escape(title)}{escape(TITLE_SUFFIX)}</title>
<link rel="stylesheet" href="{asset_url('app.css')}">
<script defer src="{asset_url('app.js')}"></script></head>
<body>{body}</body></html>
"""
    return web.Response(text=page, content_type="text/html", status=status)


def render(title: str, body: str, *, user: User | None, csrf: str, status: int = 200,
           head: str = "") -> web.Response:
    """A plain (not live) page: navigation, then the title as a heading and the body."""
    main = f'{NAV(user=user, csrf=csrf).to_html()}<main><h1>{escape(title)}</h1>{body}</main>'
    return document(title, main, csrf=csrf, head=head, status=status)


def errors_list(errors: dict[str, list[str]]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li>{escape(field)} {escape(message)}</li>"
                    for field, messages in errors.items() for message in messages)
    return f'<ul class="error" role="alert">{items}</ul>'
