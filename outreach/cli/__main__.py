"""``python -m outreach.cli``: the same as the ``outreach`` command."""

from __future__ import annotations

from outreach.cli import main

main()
