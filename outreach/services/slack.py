"""What people do in Slack, handled: a typed DM, an answer button, the message menu, the slash
command. Each becomes the same ``Inbound`` an SMS does and goes through ``Conversations``;
a press also updates the message it was pressed on, so it shows the answer and has no buttons
left to press.

The Bolt app (``outreach.web.slack``) calls these after Slack has been answered, in Bolt's own
threads, so nothing here has to fit in Slack's three seconds.
"""

from __future__ import annotations

import logging
from zoneinfo import available_timezones

from sqlalchemy import select

from outreach.channels.base import Inbound
from outreach.channels.slack import Press, SlackChannel
from outreach.content import Content
from outreach.conversations.service import Conversations, Received
from outreach.services.spool import Intake
from outreach.store import contacts
from outreach.store.database import Database, unreachable
from outreach.store.models import Contact, Message

log = logging.getLogger(__name__)
_ZONES = frozenset(available_timezones())


class SlackInbox:
    """Hands what Slack sends to the conversations: through ``intake``, where a web process
    gives one, so that what Slack sends while the database is away is spooled (Slack was
    answered already and will not send it again) and replayed once it is back."""

    def __init__(
        self,
        conversations: Conversations,
        channel: SlackChannel,
        db: Database,
        *,
        intake: Intake | None = None,
    ) -> None:
        self.conversations = conversations
        self.channel = channel
        self.db = db
        self.intake = intake

    def receive(self, inbound: Inbound | None) -> Received | None:
        """A typed DM, a menu choice or a slash command (None: nothing to act on, or spooled).
        Someone new gets their first name and time zone from their Slack profile."""
        if inbound is None:
            return None
        known = self._known(inbound)
        received = self._take(inbound)
        if received is not None and known is False:
            self._introduce(received.contact_id, inbound.sender)
        return received

    def press(self, press: Press | None) -> Received | None:
        """An answer button: the answer goes to the conversation, then the message is updated
        to show it. A second press, or a press on a question closed since, changes nothing."""
        if press is None:
            return None
        received = self._take(press.inbound())
        if received is not None and received.status == "processed":
            asked = self._asked(press.message_id)
            if asked is not None:
                self.channel.show_answer(press, *asked)
        return received

    def _take(self, inbound: Inbound) -> Received | None:
        if self.intake is None:
            return self.conversations.receive(inbound)
        return self.intake.message(self.channel.name, inbound)

    def _known(self, inbound: Inbound) -> bool | None:
        """Whether the sender is someone we know already (None: the database is away)."""
        try:
            with self.db.transaction() as tx:
                return contacts.find_address(tx, inbound.scheme, inbound.sender) is not None
        except Exception as exc:
            if self.intake is None or not unreachable(exc):
                raise
            return None

    def _introduce(self, contact_id: int, user: str) -> None:
        name, zone = self.channel.profile(user)
        changes: dict[str, str] = {}
        if name:
            changes["first_name"] = name
        if zone and zone in _ZONES:
            changes["timezone"] = zone  # their quiet hours are kept where they are
        if changes:
            with self.db.transaction() as tx:
                contact = tx.get(Contact, contact_id)
                if contact is not None and contact.first_name is None:
                    for column, value in changes.items():
                        setattr(contact, column, value)

    def _asked(self, message_id: int) -> tuple[Content, str] | None:
        """The content of a message we sent and its person's language."""
        with self.db.transaction() as tx:
            found = tx.execute(
                select(Message.content, Message.body, Contact.language)
                .join(Contact, Contact.id == Message.contact_id)
                .where(Message.id == message_id)
            ).first()
        if found is None or (found.content is None and found.body is None):
            return None  # erased or purged meanwhile: nothing to show again
        content = Content.from_json(found.content) if found.content else Content(found.body)
        return content, found.language
