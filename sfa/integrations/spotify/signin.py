"""Who a Spotify sign-in makes the browser: the account already linked to that Spotify user, the logged-in
user (who gets linked), or a new account, never someone else's account that happens to share the email."""

from __future__ import annotations

from typing import Any

from pypika import PostgreSQLQuery, functions
from pypika.terms import Parameter

from sfa.accounts.users import COLUMNS, User, users
from sfa.integrations.spotify.accounts import TokenSet
from sfa.integrations.spotify.links import LinkStore

SELECT_USER = str(PostgreSQLQuery.from_(users).select(*COLUMNS).where(users.id == Parameter("$1")))
SELECT_BY_EMAIL = str(PostgreSQLQuery.from_(users).select(users.id)
                      .where(functions.Lower(users.email) == functions.Lower(Parameter("$1"))))
# No password: the account signs in through Spotify until its owner sets one.
INSERT_USER = str(PostgreSQLQuery.into(users).columns("email").insert(Parameter("$1")).returning(*COLUMNS))


class SignInRefused(Exception):
    """The sign-in cannot go on; ``str()`` tells the person why and what to do instead."""


def profile_email(profile: dict[str, Any]) -> str:
    """Spotify's email, or a placeholder that can never receive mail when it shares none."""
    email = profile.get("email")
    return email if isinstance(email, str) and "@" in email else f"spotify-{profile['id']}@users.spotify.invalid"


async def sign_in(conn, links: LinkStore, current: User | None, profile: dict[str, Any], tokens: TokenSet) -> User:
    """The user this sign-in is for, with the link and tokens saved; run inside a transaction."""
    spotify_id, name = profile["id"], profile.get("display_name")
    linked = await links.by_spotify_user(conn, spotify_id)
    if linked is not None:
        if current is not None and current.id != linked.user_id:
            raise SignInRefused("This Spotify account is already linked to another Sound Forge Alchemy account. "
                                "Unlink it there first.")
        user = User(**dict(await conn.fetchrow(SELECT_USER, linked.user_id)))
    elif current is not None:
        user = current
    else:
        email = profile_email(profile)
        if await conn.fetchval(SELECT_BY_EMAIL, email) is not None:
            raise SignInRefused(f"An account with the email {email} already exists. Log in to it with its "
                                "password, then connect Spotify from Settings.")
        user = User(**dict(await conn.fetchrow(INSERT_USER, email)))
    if not user.active:
        raise SignInRefused("This account is suspended.")
    await links.save(conn, user.id, spotify_id, name, tokens)
    return user
