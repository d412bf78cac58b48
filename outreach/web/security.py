"""What browsers may do with the site: security headers on every response, and no form or
script from another origin acting for a logged-in coordinator.

Pages load nothing from elsewhere (no CDN, no inline script), so the content security policy
can be strict; nothing may frame them (clickjacking); types are not sniffed; no referrer
leaves the site; and over https, browsers are told to keep to it (HSTS).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Adds the headers to every HTTP response (``https``: also HSTS)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [*HEADERS, HSTS] if https else HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SameOriginWrites:
    """Refuses a request that changes something when the browser says it comes from another
    origin (its ``Sec-Fetch-Site``, or for a browser too old to send that, its ``Origin``).

    The session cookie is ``SameSite=Strict``, but "site" is wider than origin: a page on a
    sibling subdomain (another trust's site under the same domain) is same-site and would
    get the cookie. Servers calling webhooks (Twilio, Slack) send neither header and pass;
    they prove themselves by signature."""

    def __init__(self, app: ASGIApp, *, public_url: str | None) -> None:
        self.app = app
        self.public_origin = _origin(public_url) if public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        log.warning("refused a %s to %s from another origin", scope["method"], scope["path"])
        refusal = "Refused: a page from another site cannot act here. Use Outreach's own pages.\n"
        await PlainTextResponse(refusal, status_code=403)(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        headers = dict(scope["headers"])
        fetch_site = headers.get(b"sec-fetch-site")
        if fetch_site is not None:  # a browser's own word: "none" is a bookmark or typed URL
            return fetch_site in (b"same-origin", b"none")
        origin = headers.get(b"origin")
        if origin is None:  # not a browser's cross-origin request
            return True
        host = headers.get(b"host", b"").decode("latin-1")
        claimed = origin.decode("latin-1")
        return claimed in (f"{scope['scheme']}://{host}", self.public_origin)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
