"""What every page of the product shares: the navigation and the flash around each view's own template,
and the user's record kept current (an admin changing the role shows at once, on every open page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfa.accounts.users import get_user
from sfa.pubsub import Broadcast
from sfa.web.keys import DATABASE
from sfa.web.live import LiveView, Rendered, Template
from sfa.web.pages.layout import NAV
from sfa.web.user_events import USER_UPDATED, user_topic

TEMPLATES = Path(__file__).resolve().parent / "templates"
MISSING = "\u2013"


def number(value: float | None, digits: int, unit: str = "") -> str:
    """``value`` rounded for a page, or a dash when there is none."""
    return MISSING if value is None else f"{value:.{digits}f}{unit}"


HELPERS = {"number": number, "MISSING": MISSING}


def template(name: str) -> Template:
    """A page template from ``templates/``, with the helpers every page may use."""
    return Template((TEMPLATES / name).read_text(), helpers=HELPERS)

SHELL = Template(
    '{NAV(user=current_user, csrf=csrf)}<main id="main">'
    '{% if flash %}<div class="flash" role="status">{% for kind, message in flash.items() %}'
    '<p class="flash-{kind}" phx-click="lv:clear-flash" phx-value-key="{kind}">{message}</p>{% end %}</div>{% end %}'
    "{inner}</main>", helpers={"NAV": NAV})
INNER = 2


class AppView(LiveView):
    """A page of SFA: subclasses set ``template`` and call ``super().mount`` first."""

    async def mount(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        self.assign(csrf=self.csrf)
        if self.connected:
            self.subscribe(user_topic(self.user.id))

    async def handle_info(self, message: Broadcast) -> None:
        if message.event == USER_UPDATED:
            user = await get_user(self.app[DATABASE], self.user.id)
            if user is not None:
                self.assign(current_user=user)
                await self.user_changed()

    async def user_changed(self) -> None:
        """The user's record changed (role, status); pages that depend on the role re-check here."""

    def render(self, assigns: dict[str, Any], changed: set[str] | None, previous: Rendered | None) -> Rendered:
        inner_previous = previous.dynamics[INNER] if previous is not None else None
        inner = super().render(assigns, changed, inner_previous if isinstance(inner_previous, Rendered) else None)
        return SHELL.render({**assigns, "inner": inner}, changed=None if changed is None else {*changed, "inner"},
                            previous=previous)
