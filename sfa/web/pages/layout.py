"""HTML for the browser pages: one layout, escaped values, forms that carry the CSRF token."""

from __future__ import annotations

from html import escape

from aiohttp import web

from sfa.accounts.users import User
from sfa.web.csrf import FIELD

STYLE = """
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}
nav .grow{flex:1} form.inline{display:inline} label{display:block;margin:.6rem 0 .2rem}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:.8rem;padding:.4rem .9rem} .error{color:#b00020} .notice{background:#eef7ee;padding:.6rem}
code{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all} table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eee;padding:.3rem;text-align:left}
"""


def hidden_csrf(token: str) -> str:
    return f'<input type="hidden" name="{FIELD}" value="{escape(token)}">'


def button_form(action: str, label: str, csrf: str, *, method: str = "post") -> str:
    override = "" if method == "post" else f'<input type="hidden" name="_method" value="{method}">'
    return (f'<form class="inline" method="post" action="{escape(action)}">{hidden_csrf(csrf)}{override}'
            f'<button type="submit">{escape(label)}</button></form>')


def render(title: str, body: str, *, user: User | None, csrf: str, status: int = 200,
           head: str = "") -> web.Response:
    if user is None:
        links = '<a href="/users/log_in">Log in</a> <a href="/users/register">Register</a>'
    else:
        links = (f'<span>{escape(user.email)} ({escape(user.role)})</span> <a href="/users/settings">Settings</a> '
                 + button_form("/users/log-out", "Log out", csrf, method="delete"))
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{escape(csrf)}">{head}
<title>{escape(title)} · Sound Forge Alchemy</title><style>{STYLE}</style></head>
<body><nav><a href="/"><strong>Sound Forge Alchemy</strong></a><span class="grow"></span>{links}</nav>
<main><h1>{escape(title)}</h1>{body}</main></body></html>
"""
    return web.Response(text=document, content_type="text/html", status=status)


def errors_list(errors: dict[str, list[str]]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li>{escape(field)} {escape(message)}</li>"
                    for field, messages in errors.items() for message in messages)
    return f'<ul class="error">{items}</ul>'
