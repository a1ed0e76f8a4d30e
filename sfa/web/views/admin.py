"""The admin pages (``admin`` or higher): users and their roles, the job queue, the live supervision tree.

A user below ``admin`` gets the 404 page, as for a record that is not theirs; a user demoted while looking
is sent home. The queue and the tree are re-read every second while the page is open.
"""

from __future__ import annotations

from typing import Any

from sfa.accounts.admin import Forbidden as RoleTooLow
from sfa.accounts.admin import Refused, change_user
from sfa.accounts.roles import ROLES, STATUSES, at_least
from sfa.accounts.users import list_users
from sfa.ids import parse_id
from sfa.jobs.stats import overview
from sfa.pubsub import Broadcast
from sfa.web.keys import ACTOR_TREE, DATABASE, PUBSUB, TOKEN_CACHE
from sfa.web.live import NotFound, event
from sfa.web.user_events import announce_user_change
from sfa.web.views.shell import AppView, template

TICK = Broadcast("admin", "tick", {})
REFRESH_S = 1.0
# The newest failed jobs with their last error: what an operator looks at first.
RECENT_FAILURES = """
SELECT id, kind, queue, attempt, max_attempts, errors -> -1 ->> 'error' AS error, finished_at
FROM jobs WHERE state = 'failed' ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 20
"""


class AdminView(AppView):
    """Only for admins; ``refresh`` (if a page has one) runs at mount and every second while connected."""

    async def mount(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        await super().mount(params, session)
        if not at_least(self.user.role, "admin"):
            raise NotFound("page not found")
        await self.refresh()
        if self.connected and self.ticks:
            self.send_after(REFRESH_S, TICK)

    ticks = False

    async def refresh(self) -> None:
        pass

    async def user_changed(self) -> None:
        if not at_least(self.assigns["current_user"].role, "admin"):
            self.redirect("/")

    async def handle_info(self, message: Broadcast) -> None:
        if message is TICK:
            await self.refresh()
            self.send_after(REFRESH_S, TICK)
        else:
            await super().handle_info(message)


class AdminUsersView(AdminView):
    template = template("admin_users.html")

    async def refresh(self) -> None:
        users, total = await list_users(self.app[DATABASE], offset=0, limit=200)
        self.assign(page_title="Users", users=users, total=total, roles=ROLES, statuses=STATUSES,
                    error=self.assigns.get("error", ""))

    @event("change")
    async def change(self, value: dict[str, Any]) -> None:
        user = value.get("user") if isinstance(value.get("user"), dict) else {}
        changes = {key: user[key] for key in ("role", "status") if isinstance(user.get(key), str)}
        try:
            changed = await change_user(self.app[DATABASE], self.assigns["current_user"], parse_id(user.get("id")) or 0,
                                        changes)
        except (RoleTooLow, Refused) as exc:
            self.assign(error=str(exc))
            await self.refresh()
            return
        if changed is None:
            self.assign(error="No such user.")
        else:
            self.assign(error="")
            self.app[TOKEN_CACHE].forget_user(changed.id)
            await announce_user_change(self.app[PUBSUB], changed)
            self.put_flash("info", f"{changed.email} is now {changed.role} ({changed.status}).")
        await self.refresh()


class AdminJobsView(AdminView):
    template = template("admin_jobs.html")
    ticks = True

    async def refresh(self) -> None:
        database = self.app[DATABASE]
        stats = await overview(database)
        async with database.pool.acquire() as conn:
            failures = await conn.fetch(RECENT_FAILURES)
        self.assign(page_title="Job queue", queues=sorted(stats["queues"].items()), totals=stats["totals"],
                    completed_last_minute=stats["completed_last_minute"], failures=[dict(row) for row in failures])


def flatten(node: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """The tree as rows with their depth, parents first (a template loops over rows, not recursion)."""
    rows = [{**{key: value for key, value in node.items() if key != "children"}, "depth": depth}]
    for child in node.get("children") or []:
        rows += flatten(child, depth + 1)
    return rows


class AdminTreeView(AdminView):
    template = template("admin_tree.html")
    ticks = True

    async def refresh(self) -> None:
        tree = self.app.get(ACTOR_TREE)
        snapshot = None if tree is None else tree.snapshot()
        self.assign(page_title="Supervision tree", running=snapshot is not None,
                    rows=[] if snapshot is None else flatten(snapshot["tree"]),
                    processes=None if snapshot is None else snapshot["actor_processes"])
