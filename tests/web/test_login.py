"""The coordinators' login, tried as an attacker would: forged forwarding headers, many
addresses, several web processes, restarts, weak passwords, a cookie copied before logout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from outreach.clock import ManualClock
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store import logins
from outreach.store.database import Database
from outreach.web.app import create_app
from tests.web.conftest import free_port, running

PASSWORD = "correct horse battery staple"


def app_for(settings: Settings, db: Database, clock: ManualClock, **extra: object) -> FastAPI:
    configured = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("k" * 32), **extra}
    )
    return create_app(Runtime.build(configured, clock=clock, db=db))


@contextmanager
def serving(app: FastAPI) -> Iterator[httpx.Client]:
    with running(app, free_port()) as url, httpx.Client(base_url=url) as client:
        yield client


def guess(client: httpx.Client, password: str = "wrong", **headers: str) -> int:
    return client.post("/login", data={"password": password}, headers=headers).status_code


@pytest.fixture(autouse=True)
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outreach.web.auth.FAILED_LOGIN_DELAY", 0.0)


def test_forwarded_for_from_an_untrusted_client_changes_nothing(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    with serving(app_for(settings, db, clock)) as client:
        answers = [guess(client, **{"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(12)]
    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}  # every guess was from 127.0.0.1, whatever it claimed


def test_a_trusted_proxy_is_believed_about_who_is_guessing(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    with serving(app_for(settings, db, clock, trusted_proxies=["127.0.0.1"])) as client:
        attacker = [guess(client, **{"X-Forwarded-For": "203.0.113.66"}) for _ in range(6)]
        coordinator = guess(client, PASSWORD, **{"X-Forwarded-For": "192.0.2.10"})
    assert attacker == [401] * 5 + [429]
    assert coordinator == 303  # another address behind the same proxy is not locked out


def test_lock_outs_are_shared_by_web_processes_and_survive_a_restart(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    with serving(app_for(settings, db, clock)) as first:
        assert [guess(first) for _ in range(3)] == [401] * 3
    with serving(app_for(settings, db, clock)) as second:  # another process, or a restart
        assert [guess(second) for _ in range(3)] == [401, 401, 429]
        assert guess(second, PASSWORD) == 429


def test_many_failing_addresses_never_unlock_a_locked_one(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    app = app_for(settings, db, clock)
    with db.transaction() as tx:  # the old in-memory throttle forgot everyone after 10,000
        for i in range(12_000):
            logins.failed(tx, f"address:10.{i // 65536}.{i // 256 % 256}.{i % 256}", clock())
        for _ in range(5):
            logins.failed(tx, "address:127.0.0.1", clock())
    with serving(app) as client:
        assert guess(client, PASSWORD) == 429


def test_a_coordinator_who_logged_in_before_is_not_locked_out_by_an_attacker(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    """Behind one address (a proxy nobody configured, an office NAT) an attacker's guesses
    lock that address; a browser that has logged in before still gets in."""
    with serving(app_for(settings, db, clock)) as client:
        assert guess(client, PASSWORD) == 303
        assert client.post("/logout").status_code == 303
        with httpx.Client(base_url=str(client.base_url)) as attacker:
            assert [guess(attacker) for _ in range(6)][-1] == 429
        assert guess(client, PASSWORD) == 303  # the device cookie, not the address, counts
        assert client.get("/simulator").status_code == 200


def test_a_cookie_copied_before_logout_stops_working_at_logout(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    with serving(app_for(settings, db, clock)) as client:
        assert guess(client, PASSWORD) == 303
        copied = dict(client.cookies)
        assert client.get("/simulator/api/contacts").status_code == 200
        assert client.post("/logout").status_code == 303
        with httpx.Client(base_url=str(client.base_url), cookies=copied) as thief:
            assert thief.get("/simulator/api/contacts").status_code == 401


def test_the_session_cookie_is_secure_behind_https(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    app = app_for(settings, db, clock, public_url="https://outreach.example.org")
    with serving(app) as client:
        answer = client.post("/login", data={"password": PASSWORD})
    assert answer.status_code == 303
    cookies = answer.headers.get_list("set-cookie")
    assert any(c.startswith("outreach_session=") and "secure" in c.lower() for c in cookies)


@pytest.mark.parametrize("weak", ["x", "password1", "aaaaaaaaaaaaaaaa"])
def test_a_weak_password_is_refused_with_what_to_do(weak: str) -> None:
    with pytest.raises(ValidationError, match=r"(?s)admin_password.*(too short|too weak)"):
        Settings(admin_password=SecretStr(weak), _env_file=None)
