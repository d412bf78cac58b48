"""Slack as a channel for people: direct messages from the app, with buttons for answers.

A message is a DM (``conversations.open``, then ``chat.postMessage``) whose plain ``text`` is
what the record, notifications and screen readers get, and whose Block Kit blocks show the
words, a button for each answer a question takes (a choice, yes and no, a rating's numbers)
and a "Stop these messages" menu on every message. Once a button is pressed the message is
updated (``chat.update``) to say what was answered, with no buttons left to press.

Sends make exactly one request each, as with Twilio: slack_sdk's retry handlers would sleep
through a 429 inside the send's thread, and its connection-error retry could post a
message twice, so a rate limit comes back as ``retry`` with Slack's ``Retry-After`` and the
outbox waits. Updating a message after a press, which is safe to repeat and has no outbox
behind it, goes through a client with slack_sdk's own handlers for connection errors and rate
limits.

Slack's requests are verified by Bolt (``outreach.web.slack``); this module reads the payloads
Bolt hands over into neutral values.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from outreach.channels.base import Inbound, Outgoing, Rendered, SendResult
from outreach.channels.sms import numbered
from outreach.contacts.addresses import SLACK_USER_ID as _USER_ID
from outreach.content import Choice, Content
from outreach.i18n.catalogs import N_, Translate, english

log = logging.getLogger(__name__)

SCHEME = "slack"
# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks)
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_ACTIONS = 25
MAX_BUTTON_LABEL = 75
MAX_TEXT = 4000  # what we read of a person's typed message
ANSWER_ACTION = "outreach_answer"  # action ids start with it: outreach_answer_0, _1, ...
MENU_ACTION = "outreach_menu"  # every message's menu: stop these messages, help
MENU = ("stop", "help")  # what the menu offers: the keywords it stands for
_BLOCK_ID = re.compile(r"^outreach_answer:(\d{1,18}):\d{1,2}$")

STOP_LABEL = N_("Stop these messages")
HELP_LABEL = N_("Help")
ANSWERED = N_("You answered: {answer}")
YES = N_("Yes")
NO = N_("No")

# Errors after which the person cannot be sent DMs at all, and why.
SUPPRESS = {
    "user_not_found": "no such Slack user",
    "user_disabled": "the Slack account is deactivated",
    "cannot_dm_bot": "a Slack bot, not a person",
    "account_inactive": "the Slack account is deactivated",
    "user_not_visible": "the app cannot see this Slack user",
}
# Our own set-up, not the message: keep it queued until someone fixes the settings.
CREDENTIALS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "no_permission",
    "team_access_not_granted",
    "ekm_access_denied",
    "not_allowed_token_type",
}
PASSING = {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable"}
PASSING |= {"request_timeout", "team_added_to_org"}


def make_client(
    token: str,
    *,
    api_url: str | None = None,
    timeout: float = 10.0,
    retrying: bool = False,
    waits_for_rate_limits: bool = False,
) -> WebClient:
    """A slack_sdk ``WebClient``; ``api_url`` points it elsewhere (the fake Slack).

    ``retrying`` adds slack_sdk's handlers for connection errors and rate limits, for calls
    that are safe to repeat; ``waits_for_rate_limits`` only the one for rate limits (it
    sleeps for Slack's ``Retry-After``; a 429 means nothing was posted, so posting again
    cannot post twice). Without either the client makes one request and reports what came.
    """
    handlers: list[Any] = []
    if retrying:
        handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    if retrying or waits_for_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    options: dict[str, Any] = {}
    if api_url:
        options["base_url"] = api_url.rstrip("/") + "/"
    return WebClient(
        token=token, timeout=max(1, round(timeout)), retry_handlers=handlers, **options
    )


@dataclass(frozen=True, slots=True)
class Press:
    """A person pressed an answer button on one of our messages."""

    user: str
    channel: str  # the DM it was pressed in
    ts: str  # the message's Slack timestamp
    message_id: int  # ours
    key: str  # the option key
    label: str  # what the button said

    def inbound(self) -> Inbound:
        # One press per message: a second press, of any of its buttons, is a duplicate.
        return Inbound(
            SCHEME,
            self.user,
            self.label,
            f"press:{self.channel}:{self.ts}",
            button=self.key,
            in_reply_to=self.message_id,
        )


class SlackChannel:
    """Sends DMs through a Slack app's bot, and reads what Slack sends back."""

    name = "slack"
    scheme = SCHEME

    def __init__(
        self,
        client: WebClient,
        *,
        retrying_client: WebClient | None = None,
        translate: Translate = english,
        rehearsal: bool = False,
    ) -> None:
        self.client = client
        self.retrying_client = retrying_client or client
        self.translate = translate
        self.rehearsal = rehearsal  # made-up Slack people (the demo): no quiet hours
        self._dms: dict[str, str] = {}  # user id -> DM channel id
        self._lock = threading.Lock()

    # -- rendering -----------------------------------------------------------------------------

    def render(self, content: Content, language: str) -> Rendered:
        """``content`` as a DM: plain text (with a question's options numbered, so a typed
        "1" answers too) and blocks.

        >>> from outreach.content import Choice
        >>> question = Content("Can you come?", kind="question", answer="choice",
        ...                    choices=(Choice("yes", "Yes"), Choice("no", "Not this time")))
        >>> rendered = SlackChannel(WebClient()).render(question, "en")
        >>> print(rendered.text)
        Can you come?
        1. Yes
        2. Not this time
        >>> [b["type"] for b in rendered.extra["blocks"]]
        ['section', 'actions']
        """
        return Rendered(self._text(content), extra={"blocks": self.blocks(content, language)})

    def blocks(
        self,
        content: Content,
        language: str,
        *,
        message_id: int | None = None,
        answered: str | None = None,
    ) -> list[dict[str, Any]]:
        """The Block Kit blocks of a message; ``answered`` (the label of the answer given)
        replaces the buttons with a line saying what was answered."""
        buttons = [] if answered is not None else self._buttons(content, language)
        action_blocks = [buttons[i : i + MAX_ACTIONS] for i in range(0, len(buttons), MAX_ACTIONS)]
        room = MAX_BLOCKS - (1 if answered is not None else len(action_blocks))
        text = content.text or self._text(content)
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "plain_text", "text": part, "emoji": True}}
            for part in split_text(text, MAX_SECTION, room)
        ]
        blocks[0]["accessory"] = {
            "type": "overflow",
            "action_id": MENU_ACTION,
            "options": [
                _option(self.translate(language, STOP_LABEL), "stop"),
                _option(self.translate(language, HELP_LABEL), "help"),
            ],
        }
        for n, elements in enumerate(action_blocks):
            block: dict[str, Any] = {"type": "actions", "elements": elements}
            if message_id is not None:
                block["block_id"] = f"{ANSWER_ACTION}:{message_id}:{n}"
            blocks.append(block)
        if answered is not None:
            said = self.translate(language, ANSWERED).replace("{answer}", answered)
            blocks.append(
                {"type": "context", "elements": [{"type": "plain_text", "text": f"✓ {said}"}]}
            )
        return blocks

    def _text(self, content: Content) -> str:
        if content.choices and not content.options_in_text:
            options = numbered(content.choices)
            return f"{content.text}\n{options}" if content.text else options
        return content.text

    def _buttons(self, content: Content, language: str) -> list[dict[str, Any]]:
        if content.kind not in ("question", "hint", "reminder"):
            return []
        options: Sequence[Choice] = content.choices
        if not options and content.answer == "yesno":
            options = (
                Choice("yes", self.translate(language, YES)),
                Choice("no", self.translate(language, NO)),
            )
        elif not options and content.answer == "rating" and content.scale is not None:
            low, high = content.scale
            options = tuple(Choice(str(n), str(n)) for n in range(low, high + 1))
        # Whatever does not fit in the blocks left is still in the text, to type.
        options = options[: MAX_ACTIONS * (MAX_BLOCKS - 1)]
        return [
            {
                "type": "button",
                "action_id": f"{ANSWER_ACTION}_{n}",
                "text": {"type": "plain_text", "text": _shorten(o.label, MAX_BUTTON_LABEL)},
                "value": o.key,
            }
            for n, o in enumerate(options)
        ]

    # -- sending -------------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> SendResult:
        """Post the message, in a thread: slack_sdk's client blocks."""
        return await asyncio.to_thread(self._post, message)

    async def close(self) -> None:
        """Nothing is kept open between sends."""

    def _post(self, message: Outgoing) -> SendResult:
        """Open the DM with the person (once per process) and post the message."""
        if not _USER_ID.match(message.to):
            return SendResult("failed", error="not a Slack user id", suppress="not a Slack user id")
        try:
            channel = self._dm(message.to)
        except SlackApiError as exc:
            return classify_error(exc)
        except (urllib.error.URLError, OSError) as exc:
            return SendResult("retry", error=f"could not reach Slack: {type(exc).__name__}")
        blocks = self.blocks(message.content, message.language, message_id=message.message_id)
        try:
            posted = self.client.chat_postMessage(
                channel=channel,
                text=message.body,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            return classify_error(exc)
        except (urllib.error.URLError, ConnectionRefusedError) as exc:
            if _never_sent(exc):
                return SendResult("retry", error="could not connect to Slack")
            return SendResult("unknown", error="no answer from Slack after sending; not resent")
        except OSError:
            # The request went out and no answer came back: sending again could post twice.
            return SendResult("unknown", error="no answer from Slack after sending; not resent")
        # Slack has no delivery reports: a posted DM is in the person's Slack.
        return SendResult("sent", provider_id=f"{channel}:{posted['ts']}", status="delivered")

    def _dm(self, user: str) -> str:
        with self._lock:
            found = self._dms.get(user)
        if found is not None:
            return found
        opened = self.client.conversations_open(users=user)
        channel = str(opened["channel"]["id"])
        with self._lock:
            if len(self._dms) > 50_000:  # bounded: reopening costs one call
                self._dms.clear()
            self._dms[user] = channel
        return channel

    def show_answer(
        self, press: Press, content: Content, language: str, *, label: str | None = None
    ) -> bool:
        """Update the pressed message to say what was answered, leaving no buttons; False if
        Slack would not (the answer is recorded all the same)."""
        answer = label or press.label
        said = self.translate(language, ANSWERED).replace("{answer}", answer)
        try:
            self.retrying_client.chat_update(
                channel=press.channel,
                ts=press.ts,
                text=f"{self._text(content)}\n{said}",
                blocks=self.blocks(content, language, answered=answer),
            )
        except (SlackApiError, urllib.error.URLError, OSError) as exc:
            log.warning("could not update an answered Slack message: %s", _reason(exc))
            return False
        return True

    def profile(self, user: str) -> tuple[str | None, str | None]:
        """A person's first name and time zone as Slack knows them (None where it does not)."""
        try:
            found = self.retrying_client.users_info(user=user)["user"]
        except (SlackApiError, urllib.error.URLError, OSError, KeyError, TypeError) as exc:
            log.warning("could not read a Slack profile: %s", _reason(exc))
            return None, None
        profile = found.get("profile") or {}
        name = profile.get("first_name") or found.get("real_name") or profile.get("real_name")
        first = str(name).split()[0][:100] if name and str(name).strip() else None
        zone = found.get("tz")
        return first, str(zone)[:64] if zone else None

    def explain(self, error_code: str) -> SendResult | None:
        return None  # Slack sends no delivery reports

    # -- reading what Slack sends (after Bolt has verified it) ---------------------------------

    def read_message(self, event: Mapping[str, Any]) -> Inbound | None:
        """A person's DM to the app, or None for anything else (our own messages, edits,
        joins, messages in channels)."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return None
        user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
        text = event.get("text")
        if not all(isinstance(v, str) and v for v in (user, channel, ts)) or not isinstance(
            text, str
        ):
            return None
        assert isinstance(user, str)
        if not _USER_ID.match(user):
            return None
        return Inbound(SCHEME, user, text[:MAX_TEXT], f"{channel}:{ts}"[:64])

    def read_press(self, body: Mapping[str, Any]) -> Press | None:
        """An answer button pressed on one of our messages, or None if the payload is not
        one."""
        try:
            action = body["actions"][0]
            match = _BLOCK_ID.match(action["block_id"])
            user, container = body["user"]["id"], body["container"]
            channel, ts = container["channel_id"], container["message_ts"]
            key, label = action["value"], action["text"]["text"]
        except (KeyError, IndexError, TypeError):
            return None
        values = (user, channel, ts, key, label)
        if match is None or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in values):
            return None
        if not _USER_ID.match(user):
            return None
        return Press(user, channel, ts, int(match.group(1)), key, label)

    def read_menu(self, body: Mapping[str, Any]) -> Inbound | None:
        """ "Stop these messages" (or "Help") chosen from a message's menu: the same as typing
        STOP (or HELP)."""
        try:
            user, container = body["user"]["id"], body["container"]
            where = f"{container['channel_id']}:{container['message_ts']}"
            chosen = body["actions"][0]["selected_option"]["value"]
        except (KeyError, IndexError, TypeError):
            return None
        if chosen not in MENU or not isinstance(user, str) or not _USER_ID.match(user):
            return None
        return Inbound(SCHEME, user, chosen, f"menu:{chosen}:{where}"[:64])

    def read_command(self, command: Mapping[str, Any]) -> Inbound | None:
        """``/outreach help`` (or stop, lang...): the words after the command, as a DM."""
        user, text, trigger = command.get("user_id"), command.get("text"), command.get("trigger_id")
        if not (isinstance(user, str) and _USER_ID.match(user)) or not isinstance(text, str):
            return None
        if not isinstance(trigger, str) or not trigger or not text.strip():
            return None
        return Inbound(SCHEME, user, text[:MAX_TEXT], f"command:{trigger}"[:64])


def split_text(text: str, size: int, most: int) -> list[str]:
    """``text`` in at most ``most`` parts of at most ``size`` characters, broken at a
    paragraph, a line or a space where it can be (the last part says when text was cut).

    >>> split_text("one two three", 8, 5)
    ['one two', 'three']
    >>> split_text("x" * 20, 8, 2)
    ['xxxxxxxx', 'xxxxxxx…']
    """
    parts: list[str] = []
    rest = text.strip() or "…"
    while rest:
        if len(parts) == most - 1 and len(rest) > size:
            parts.append(rest[: size - 1] + "…")
            break
        if len(rest) <= size:
            parts.append(rest)
            break
        cut = max(rest.rfind(sep, 1, size + 1) for sep in ("\n\n", "\n", " "))
        cut = cut if cut > 0 else size
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts


def classify_error(exc: SlackApiError) -> SendResult:
    """What an error answer from Slack means for the message."""
    status = exc.response.status_code
    code = str(exc.response.get("error") or status)
    if status == 429:
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
            "retry-after"
        )
        seconds = float(retry_after) if str(retry_after or "").isdigit() else None
        return SendResult(
            "retry", error_code=code, error="rate limited by Slack", retry_after=seconds
        )
    if code in SUPPRESS:
        return SendResult("failed", error_code=code, error=SUPPRESS[code], suppress=SUPPRESS[code])
    if code in CREDENTIALS:
        return SendResult(
            "retry",
            error_code=code,
            error=f"Slack refused our app ({code}): check SLACK_BOT_TOKEN and the app's scopes",
        )
    if status >= 500 or code in PASSING:
        return SendResult("retry", error_code=code, error=f"Slack error ({code})")
    return SendResult("failed", error_code=code, error=f"Slack refused the message ({code})")


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before the request could reach Slack."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


def _option(text: str, value: str) -> dict[str, Any]:
    label = {"type": "plain_text", "text": _shorten(text, MAX_BUTTON_LABEL)}
    return {"text": label, "value": value}


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
