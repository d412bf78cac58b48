"""Partner files, loaded and checked like flows: every mistake with its file and line."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from outreach.errors import Problem
from outreach.flows import yamlnodes
from outreach.flows.loader import (
    SourceFile,
    duplicate_ids,
    load_files,
    parse_document,
)
from outreach.partners.schema import PartnerSpec


@dataclass(frozen=True, kw_only=True)
class PartnerDefinition(SourceFile):
    """A loaded, schema-valid partner together with where it came from."""

    spec: PartnerSpec
    kind: ClassVar[str] = "partner"

    @property
    def id(self) -> str:
        return self.spec.partner

    def follows(self, *, flow: str | None, event: str | None, tags: Collection[str]) -> bool:
        """Whether a conversation (in ``flow``, about ``event``, with a person tagged
        ``tags``) is one this partner follows."""
        follows = self.spec.follows
        return (
            (flow is not None and flow in follows.flows)
            or (event is not None and event in follows.events)
            or bool(set(follows.tags) & set(tags))
        )


def load_partner_text(text: str, *, path: str = "<partner>") -> PartnerDefinition:
    spec, doc, digest = parse_document(text, path, PartnerSpec, kind="partner")
    return PartnerDefinition(spec=spec, path=path, document=doc, digest=digest)


def load_partners(
    paths: Iterable[Path], *, max_bytes: int
) -> tuple[list[PartnerDefinition], list[Problem]]:
    """Every partner file under ``paths``, and the problems of those that would not load."""
    return load_files(paths, "partner", load_partner_text, max_bytes=max_bytes)


def check_partners(
    partners: Iterable[PartnerDefinition], *, flows: Collection[str], events: Collection[str]
) -> list[Problem]:
    """What only makes sense with the flows and events: what a partner follows exists, ids
    are unique, and it has somewhere to be told things."""
    partners = list(partners)
    problems: list[Problem] = list(duplicate_ids(partners))
    for partner in partners:
        problems.extend(_unknown(partner, ("follows", "flows"), partner.spec.follows.flows, flows))
        problems.extend(
            _unknown(partner, ("follows", "events"), partner.spec.follows.events, events)
        )
        if partner.spec.digest_channel is None and partner.spec.handoff_channel is None:
            problems.append(
                partner.problem(
                    ("partner",),
                    "no-channel",
                    "this partner has neither a digest_channel nor a handoff_channel",
                    "give the Slack channel id (C...) of at least one",
                    warning=True,
                )
            )
    return problems


def _unknown(
    partner: PartnerDefinition, where: yamlnodes.Path, named: Iterable[str], known: Collection[str]
) -> Iterator[Problem]:
    for index, name in enumerate(named):
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            yield partner.problem(
                (*where, index),
                "unknown-" + str(where[-1]).rstrip("s"),
                f"there is no {str(where[-1]).rstrip('s')} {name!r}",
                f"did you mean {close[0]!r}?" if close else "correct the name or remove it",
            )
