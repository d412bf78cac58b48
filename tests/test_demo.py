"""``outreach demo`` as a newcomer runs it: a real process, a browser's requests, no accounts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.web.conftest import free_port


def test_demo_serves_the_simulator_and_completes_the_invitation(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "OUTREACH_FLOWS_DIR": str(ROOT / "flows"),
        "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
        "OUTREACH_ADMIN_PASSWORD": "letmein",
    }
    env.pop("OUTREACH_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=base) as browser:
            assert browser.post("/login", data={"password": "letmein"}).status_code == 303
            people = browser.get("/simulator/api/contacts").json()
            amina = next(p for p in people if p["first_name"] == "Amina")
            api = f"/simulator/api/contacts/{amina['id']}"
            assert browser.post(f"{api}/start", json={"flow": "big-conversation-invite"}).is_success
            assert browser.post(f"{api}/send", json={"text": "yes"}).is_success
            assert browser.post(f"{api}/send", json={"text": "A quiet room"}).is_success
            conversation = browser.get(api).json()
        bodies = [m["body"] for m in conversation["messages"] if m["direction"] == "out"]
        assert bodies[0].startswith("Hi Amina, you're invited")
        assert bodies[-1].startswith("Thank you, see you on")
        assert all(
            m["status"] == "delivered" for m in conversation["messages"] if m["direction"] == "out"
        )
        assert (tmp_path / "outreach-demo.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "log in with the password: letmein" in output
    assert process.returncode == 0
