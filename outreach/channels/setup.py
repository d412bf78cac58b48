"""Which channels a process has, from its settings: Twilio SMS when its settings are present,
else simulated SMS; always the phone simulator's own channel; Slack DMs when the Slack app's
bot token and signing secret are set.

Channels are indexed by the address scheme they serve, which is how a message finds its
channel: by the address it goes to.
"""

from __future__ import annotations

from outreach.channels.base import Channel
from outreach.channels.simulator import SimulatorChannel
from outreach.channels.slack import SlackChannel
from outreach.channels.slack import make_client as make_slack_client
from outreach.channels.sms import SmsRenderer
from outreach.channels.twilio import TwilioSMSChannel, make_client
from outreach.i18n.catalogs import Translate, english
from outreach.settings import Settings


def make_channels(settings: Settings, translate: Translate = english) -> dict[str, Channel]:
    """The channels ``settings`` configure, by scheme."""
    footer = settings.alphanumeric_opt_out if settings.alphanumeric_sender else None
    sms = SmsRenderer(translate=translate, stop_footer=footer)
    channels: list[Channel] = [
        SimulatorChannel(scheme="sim", name="simulator", renderer=SmsRenderer(translate=translate))
    ]
    if settings.twilio_enabled:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        token = settings.twilio_auth_token.get_secret_value()
        client = make_client(
            settings.twilio_account_sid,
            token,
            api_url=settings.twilio_api_url,
            timeout=settings.send_timeout_seconds,
        )
        public = settings.public_url
        channels.append(
            TwilioSMSChannel(
                client,
                auth_token=token,
                from_number=settings.twilio_from_number,
                messaging_service_sid=settings.twilio_messaging_service_sid,
                status_callback=f"{public.rstrip('/')}/twilio/status" if public else None,
                our_numbers=settings.twilio_numbers,
                region=settings.default_region,
                renderer=sms,
            )
        )
    else:
        channels.append(SimulatorChannel(scheme="tel", name="sms", renderer=sms))
    if settings.slack_enabled:
        channels.append(slack_channel(settings, translate))
    return {channel.scheme: channel for channel in channels}


def slack_channel(settings: Settings, translate: Translate = english) -> SlackChannel:
    """The Slack DM channel ``settings`` configure (its bot token must be set)."""
    assert settings.slack_bot_token is not None
    token = settings.slack_bot_token.get_secret_value()
    url, timeout = settings.slack_api_url, settings.send_timeout_seconds
    return SlackChannel(
        make_slack_client(token, api_url=url, timeout=timeout),
        retrying_client=make_slack_client(token, api_url=url, timeout=timeout, retrying=True),
        translate=translate,
        rehearsal=settings.slack_rehearsal,
    )
