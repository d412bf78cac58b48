"""The conversation engine: (flows, session, trigger) -> (new session, actions).

It is a pure function in the shape of a class: the class only holds what never changes while it
runs (the flows, the translation function, the step limit). No database, clock, network or
global is touched, so flows can be tested by the thousand, simulated in a terminal and
replayed from the record. Whatever it decides comes back as actions for the service layer to
apply in one transaction. Messages come out as channel-neutral ``Content``: the words and the
options as data, which each channel renders (numbered options in SMS, buttons in Slack).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from outreach.content import Choice, Content, Kind
from outreach.errors import FlowNotFound
from outreach.flows import matching, voting
from outreach.flows.loader import FlowDefinition
from outreach.flows.samples import SAMPLE_STATEMENTS
from outreach.flows.schema import Condition, Step, TextSpec
from outreach.flows.state import (
    Action,
    AddTag,
    Button,
    Contact,
    EndSession,
    FlowChanged,
    Frame,
    Handoff,
    Offer,
    Outcome,
    Propose,
    ReminderDue,
    Reply,
    Rsvp,
    SaveAnswer,
    Schedule,
    SendMessage,
    Session,
    SetField,
    Start,
    TimeoutDue,
    Trigger,
    Vote,
    Wait,
)
from outreach.flows.templates import Placeholder, render
from outreach.i18n.catalogs import N_, Catalogs, Translate, english
from outreach.i18n.locales import format_value, in_language, to_local
from outreach.i18n.phrases import AMBIGUOUS
from outreach.i18n.text import normalize, tokens
from outreach.i18n.vocabulary import Vocabulary, option_context

# System texts (English is the message id; catalogs translate them).
HINT_CHOICE = N_("Sorry, I didn't understand. Please reply with a number from 1 to {count}.")
HINT_YESNO = N_("Sorry, I didn't understand. Please reply YES or NO.")
HINT_NUMBER = N_("Sorry, I didn't understand. Please reply with a number.")
HINT_NUMBER_RANGE = N_(
    "Sorry, I didn't understand. Please reply with a number from {min} to {max}."
)
HINT_DATE = N_("Sorry, I didn't understand. Please reply with a date, like 25/12.")
HINT_DATE_FUTURE = N_("Please reply with a date that is still to come, like 25/12.")
HINT_TEXT = N_("Please reply with a few words.")
HINT_TEXT_LONG = N_("Please keep your reply under {max} characters.")
REMINDER_PREFIX = N_("Just a reminder: {question}")

DEFAULT_MAX_STEPS = 100


class Engine:
    """Runs conversations over a fixed set of flows."""

    def __init__(
        self,
        flows: Mapping[str, FlowDefinition],
        *,
        translate: Translate = english,
        vocabulary: Vocabulary | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
    ) -> None:
        self.flows = dict(flows)
        self.translate = translate
        if vocabulary is None:
            # Translating with catalogs: the words people use come from the same catalogs.
            owner = getattr(translate, "__self__", None)
            vocabulary = Vocabulary(owner if isinstance(owner, Catalogs) else None)
        self.vocabulary = vocabulary
        self.max_steps = max_steps
        self._keywords: dict[str, str] = {}
        self._interrupting: dict[str, str] = {}
        for definition in self.flows.values():
            for word in definition.flow.keywords:
                self._keywords.setdefault(normalize(word), definition.id)
                if definition.flow.interrupts:
                    self._interrupting.setdefault(normalize(word), definition.id)
        self._understanding: dict[tuple[str, str, str], matching.Choices] = {}
        self._static: dict[tuple[str, str], str] = {}
        self._questions: dict[tuple[str, str, str], Content] = {}
        self.votes = voting.VoteReader(vocabulary, translate)
        # Worked out once: the hot path asks this of every reply.
        self._statement_keys = {flow_id: self._statements_of(flow_id) for flow_id in self.flows}

    def keyword_flow(self, text: str, *, interrupting: bool = False) -> str | None:
        """The flow a text starts by keyword (only flows marked ``interrupts`` mid-conversation)."""
        index = self._interrupting if interrupting else self._keywords
        return matching.match_keyword(text, index)

    def conversations(self, flow_ids: Iterable[str], event_id: str | None) -> frozenset[str]:
        """The statement conversations a trigger on these flows may show statements of
        (their statements steps and those of the flows they start): the service reads the
        offers of these, and of no others, before the engine runs."""
        found: set[str] = set()
        for flow_id in flow_ids:
            named, of_event = self._statement_keys.get(flow_id, (frozenset(), False))
            found |= named
            if of_event and event_id:
                found.add(event_id)
        return frozenset(found)

    def _statements_of(self, flow_id: str) -> tuple[frozenset[str], bool]:
        """The conversations named by the statements steps a flow reaches (through the
        flows it starts too), and whether one takes the event's."""
        named: set[str] = set()
        of_event, todo, seen = False, [flow_id], set()
        while todo:
            current = todo.pop()
            if current in seen or current not in self.flows:
                continue
            seen.add(current)
            for step in self.flows[current].flow.steps:
                if step.statements is not None:
                    if step.statements.conversation:
                        named.add(step.statements.conversation)
                    else:
                        of_event = True
                if step.start_flow is not None:
                    todo.append(step.start_flow.flow)
        return frozenset(named), of_event

    def handle(self, session: Session | None, trigger: Trigger) -> Outcome:
        """Apply ``trigger`` to ``session`` and say what should happen."""
        if isinstance(trigger, Start):
            return self._start(session, trigger, trigger.flow)
        if session is None or not session.active:
            started = self._keyword_start(session, trigger, interrupting=False)
            if started is not None:
                return started
            return Outcome(session, (), handled=not isinstance(trigger, Reply | Button))
        started = self._keyword_start(session, trigger, interrupting=True)
        if started is not None:
            return started
        run = _Run(self, session, trigger)
        stale = run.reconcile()
        if stale is not None or isinstance(trigger, FlowChanged):
            return stale or Outcome(run.session)
        if isinstance(trigger, Reply):
            return run.answer(trigger.text, button=False)
        if isinstance(trigger, Button):
            return run.answer(trigger.value, button=True)
        if isinstance(trigger, ReminderDue):
            return run.remind(trigger.seq)
        if isinstance(trigger, TimeoutDue):
            return run.time_out(trigger.seq)
        return Outcome(session)

    def _keyword_start(
        self, session: Session | None, trigger: Trigger, *, interrupting: bool
    ) -> Outcome | None:
        if not isinstance(trigger, Reply):
            return None
        flow = self.keyword_flow(trigger.text, interrupting=interrupting)
        if flow is None or (session is not None and session.active and session.flow == flow):
            return None
        return self._start(session, trigger, flow)

    def _start(self, session: Session | None, trigger: Trigger, flow_id: str) -> Outcome:
        if flow_id not in self.flows:
            raise FlowNotFound(flow_id, list(self.flows))
        run = _Run(self, None, trigger, seq=session.seq if session else 0)
        if session is not None and session.active:
            run.actions.append(EndSession(session.flow, "interrupted", f"started {flow_id}"))
        return run.go(flow_id, self.flows[flow_id].first_step.id)

    def messages_of(
        self,
        flow_id: str,
        *,
        contact: Contact,
        event: Mapping[str, Any] | None,
        at: datetime,
        answers: Mapping[str, Any] | None = None,
    ) -> Iterator[tuple[Step, str, Content]]:
        """Every message a flow can send to ``contact`` about ``event``, filled in and
        translated as it would be: (step, "send" | "reminder" | "hint", content). For
        measuring messages as they will really go out."""
        if flow_id not in self.flows:
            raise FlowNotFound(flow_id, list(self.flows))
        run = _Run(self, None, Start(flow=flow_id, at=at, contact=contact, event=event))
        run.answers = answers or {}
        for step in self.flows[flow_id].flow.steps:
            for label, content in run.say(flow_id, step):
                yield step, label, content

    def static_text(self, language: str, template: str) -> str:
        """A message with no placeholders, translated once per language."""
        key = (language, template)
        text = self._static.get(key)
        if text is None:
            text = self._static[key] = self.translate(language, template)
        return text

    def question(self, flow_id: str, step: Step, language: str) -> Content:
        """A question's content but for its words: the kind of answer, a rating's scale and
        a choice's options with their translated labels. Built once per language."""
        key = (flow_id, step.id, language)
        found = self._questions.get(key)
        if found is None:
            ask = step.ask
            assert ask is not None
            choices = tuple(
                Choice(value, self.static_text(language, option.label))
                for value, option in (ask.choice or {}).items()
            )
            scale = (ask.rating.min, ask.rating.max) if ask.rating is not None else None
            found = Content("", "question", choices, ask.kind, scale)
            self._questions[key] = found
        return found

    def understanding(self, flow_id: str, step: Step, language: str) -> matching.Choices:
        """How replies to a choice or yes/no question are understood in ``language``: built
        once per flow, step and language (the number, key, label and ``match`` words of each
        option, in English and as translated, and the words for what each option means)."""
        key = (flow_id, step.id, language)
        found = self._understanding.get(key)
        if found is None:
            ask = step.ask
            assert ask is not None
            if ask.choice is None:
                found = matching.Choices.yes_no(language, self.vocabulary)
            else:
                kinds = ask.kinds()
                options = []
                for value, option in ask.choice.items():
                    english = (value, option.label, *option.match)
                    own = [self.translate(language, option.label)]
                    context = option_context(flow_id, step.id, value)
                    own += self.vocabulary.option_words(language, context, option.match)
                    options.append(matching.OptionWords(value, kinds[value], english, tuple(own)))
                found = matching.Choices(options, language=language, vocabulary=self.vocabulary)
            self._understanding[key] = found
        return found


class _Run:
    """The working state of one trigger being applied; thrown away afterwards."""

    def __init__(
        self, engine: Engine, session: Session | None, trigger: Trigger, *, seq: int | None = None
    ) -> None:
        self.engine = engine
        self.trigger = trigger
        self.now: datetime = trigger.at
        self.session = session
        self.actions: list[Action] = []
        # Copied on write: most triggers change none of these.
        self.fields: Mapping[str, Any] = trigger.contact.fields
        self.tags: frozenset[str] = trigger.contact.tags
        self.language = trigger.contact.language
        self.timezone = trigger.contact.timezone
        self.answers: Mapping[str, Any] = session.answers if session else {}
        self.stack: tuple[Frame, ...] = session.stack if session else ()
        self.seq = session.seq if session else (seq or 0)
        self.started_at = session.started_at if session else trigger.at
        self.fresh = session is None  # this run starts a new session
        self.steps = 0

    # -- entry points ------------------------------------------------------------------------

    def reconcile(self) -> Outcome | None:
        """Carry a session over a changed flow file, or end it if its place is gone."""
        session = self.session
        assert session is not None
        definition = self.engine.flows.get(session.flow)
        if definition is None:
            return self.end(session.flow, "flow-removed", f"flow {session.flow!r} was removed")
        if definition.digest == session.version:
            return None
        missing = [f"step {session.step!r}"] if session.step not in definition.steps else []
        for frame in session.stack:
            caller = self.engine.flows.get(frame.flow)
            if caller is None or (frame.step is not None and frame.step not in caller.steps):
                missing.append(f"step {frame.step!r} of flow {frame.flow!r}")
        if missing:
            return self.end(
                session.flow,
                "flow-changed",
                f"the flow changed and {', '.join(missing)} no longer exists",
            )
        self.session = session.evolve(version=definition.digest)
        return None

    def go(self, flow_id: str, step_id: str | None) -> Outcome:
        """Run steps from ``step_id`` until the session waits or ends."""
        current: str | None = step_id
        while True:
            if current is None:
                if not self.stack:
                    return self.end(flow_id, "completed")
                frame, self.stack = self.stack[-1], self.stack[:-1]
                flow_id, current = frame.flow, frame.step
                continue
            self.steps += 1
            if self.steps > self.engine.max_steps:
                return self.end(
                    flow_id,
                    "runaway",
                    f"stopped after {self.engine.max_steps} steps without waiting for "
                    "a reply; the flow has a loop",
                )
            definition = self.engine.flows.get(flow_id)
            step = definition.steps.get(current) if definition else None
            if definition is None or step is None:
                return self.end(flow_id, "missing-step", f"no step {current!r} in {flow_id!r}")
            if step.ask is not None:
                self._effects(flow_id, step)
                return self._wait(flow_id, step)
            self._effects(flow_id, step)
            if step.statements is not None:
                if step.send:
                    self.actions.append(
                        SendMessage(flow_id, step.id, Content(self.text(step.send)), step.urgent)
                    )
                offered = self._offer(flow_id, step, votes=0, after=None)
                if offered is not None:
                    return offered
                current = self._route(step)
                continue
            if step.send:
                self.actions.append(
                    SendMessage(flow_id, step.id, Content(self.text(step.send)), step.urgent)
                )
            if step.end:
                current = None
                continue
            if step.start_flow is not None:
                target = step.start_flow.flow
                if target not in self.engine.flows:
                    return self.end(flow_id, "missing-flow", f"no flow called {target!r}")
                if step.start_flow.return_:
                    self.stack = (*self.stack, Frame(flow_id, self._route(step)))
                flow_id, current = target, self.engine.flows[target].first_step.id
                continue
            current = self._route(step)

    def answer(self, text: str, *, button: bool) -> Outcome:
        session, wait = self._waiting()
        step = self.engine.flows[session.flow].steps[wait.step]
        if step.statements is not None:
            return self._vote(session, wait, step, text, button=button)
        understood = self._understand(session.flow, step, text, button=button)
        if understood is not None:
            value = understood
            name = step.save_as or step.id
            self.actions.append(SaveAnswer(session.flow, step.id, name, text, value))
            self.answers = {**self.answers, name: value}
            ask = step.ask
            assert ask is not None
            route = (
                ask.other if ask.other is not None and value not in (ask.choice or {}) else value
            )
            return self.go(session.flow, self._route(step, answer=route))
        invalid = wait.invalid + 1
        if invalid <= step.retries:
            self.actions.append(self._question(session.flow, step, hint=self._hint(step, text)))
            return self._unchanged(session, wait.evolve(invalid=invalid))
        fallback = step.next.get("invalid") if isinstance(step.next, dict) else None
        if fallback:
            return self.go(session.flow, fallback)
        return self.end(
            session.flow,
            "no-valid-answer",
            f"no answer understood at {step.id!r} after {invalid} tries",
        )

    def remind(self, seq: int) -> Outcome:
        session, wait = self._waiting()
        if seq != wait.seq or wait.reminded:
            return self._unchanged(session)
        step = self.engine.flows[session.flow].steps[wait.step]
        if step.statements is not None:
            shown = self._statement(session.flow, step, wait.statement or 0, wait.statement_text)
            text = self.text(REMINDER_PREFIX, question=shown.content.text)
            content = replace(shown.content, text=text, kind="reminder")
            self.actions.append(replace(shown, content=content))
        else:
            self.actions.append(self._reminder(session.flow, step))
        return self._unchanged(session, wait.evolve(reminded=True))

    def say(self, flow_id: str, step: Step) -> Iterator[tuple[str, Content]]:
        """Everything ``step`` can send, as it would be sent now: its message or question,
        the reminder and the hint after a reply not understood."""
        if step.statements is not None:
            if step.send:
                yield "send", Content(self.text(step.send))
            # Measured with a statement of typical length: the words are the person's own.
            sample = SAMPLE_STATEMENTS[0]
            yield "statement", self._statement(flow_id, step, 0, sample).content
            yield "hint", Content(self._statement_hint(step), "hint")
            return
        if step.ask is None:
            if step.send:
                yield "send", Content(self.text(step.send))
            return
        yield "send", self._question(flow_id, step).content
        if step.remind_after is not None:
            yield "reminder", self._reminder(flow_id, step).content
        yield "hint", self._question(flow_id, step, hint=self._hint(step, "")).content

    def time_out(self, seq: int) -> Outcome:
        session, wait = self._waiting()
        if seq != wait.seq:
            return self._unchanged(session)
        step = self.engine.flows[session.flow].steps[wait.step]
        target = step.next.get("timeout") if isinstance(step.next, dict) else None
        if target:
            return self.go(session.flow, target)
        return self.end(session.flow, "expired", f"no reply to {step.id!r} in time")

    # -- statements ----------------------------------------------------------------------------

    def _conversation(self, step: Step) -> str | None:
        spec = step.statements
        assert spec is not None
        event_id = (self.trigger.event or {}).get("id")
        return spec.conversation or (str(event_id) if event_id else None)

    def _offer(
        self, flow_id: str, step: Step, *, votes: int, after: int | None, proposed: int = 0
    ) -> Outcome | None:
        """Show the next statement and wait for the vote; None if none is left to show."""
        key = self._conversation(step)
        offers: tuple[Offer, ...] = self.trigger.offers.get(key, ()) if key else ()
        offer = next((o for o in offers if o.id != after), None)
        if offer is None:
            return None
        wait = self._wait_for(flow_id, step, self._statement(flow_id, step, offer.id, offer.text))
        wait.statement, wait.statement_text = offer.id, offer.text
        wait.votes, wait.proposed = votes, proposed
        return self._outcome(flow_id, self.engine.flows[flow_id].digest, wait)

    def _statement(self, flow_id: str, step: Step, statement: int, text: str | None) -> SendMessage:
        choices = tuple(
            Choice(voting.button(key, statement), self.engine.static_text(self.language, label))
            for key, label in voting.LABELS.items()
        )
        prompt = self.text(voting.PROMPT, statement=text or "")
        content = Content(prompt, "question", choices, "choice")
        return SendMessage(flow_id, step.id, content, step.urgent)

    def _statement_hint(self, step: Step) -> str:
        if step.hint:
            return self.text(step.hint)
        assert step.statements is not None
        return self.text(voting.HINT_OWN if step.statements.own else voting.HINT)

    def _vote(
        self, session: Session, wait: Wait, step: Step, text: str, *, button: bool
    ) -> Outcome:
        spec, key = step.statements, self._conversation(step)
        assert spec is not None
        flow_id, reader = session.flow, self.engine.votes
        if button:
            pressed = voting.read_button(text)
            if pressed is None or pressed[1] != wait.statement:
                return self._unchanged(session)  # a button on a statement shown before
            chosen: voting.VoteKind | None = pressed[0]
            own = None
        else:
            # A statement of their own first: its words may hold a number or a "yes".
            own = reader.own(text, self.language)
            chosen = reader.vote(text, self.language) if own is None else None
        if chosen is not None and key is not None and wait.statement is not None:
            self.actions.append(Vote(key, wait.statement, chosen))
            votes = wait.votes + 1
            if votes < spec.count:
                offered = self._offer(
                    flow_id, step, votes=votes, after=wait.statement, proposed=wait.proposed
                )
                if offered is not None:
                    return offered
            return self.go(flow_id, self._route(step))
        shown = self._statement(flow_id, step, wait.statement or 0, wait.statement_text)
        if own and spec.own and key is not None:
            if len(own) > voting.OWN_MAX_LENGTH:
                reply = self.text(voting.OWN_TOO_LONG, max=voting.OWN_MAX_LENGTH)
                self.actions.append(SendMessage(flow_id, step.id, Content(reply, "hint")))
                return self._unchanged(session)
            if wait.proposed >= voting.OWN_PER_STEP:
                reply = self.text(voting.OWN_ENOUGH)
                self.actions += [SendMessage(flow_id, step.id, Content(reply)), shown]
                return self._unchanged(session)
            self.actions += [
                Propose(key, own),
                SendMessage(flow_id, step.id, Content(self.text(voting.OWN_THANKS))),
                shown,
            ]
            return self._unchanged(session, wait.evolve(proposed=1))
        if own is not None and spec.own:  # NEW alone: how to send one
            self.actions.append(SendMessage(flow_id, step.id, Content(self.text(voting.OWN_HOW))))
            return self._unchanged(session)
        invalid = wait.invalid + 1
        if invalid <= step.retries:
            hint = replace(shown.content, text=self._statement_hint(step), kind="hint")
            self.actions.append(replace(shown, content=hint))
            return self._unchanged(session, wait.evolve(invalid=invalid))
        return self.end(
            flow_id, "no-valid-answer", f"no vote understood at {step.id!r} after {invalid} tries"
        )

    # -- pieces ------------------------------------------------------------------------------

    def _waiting(self) -> tuple[Session, Wait]:
        assert self.session is not None and self.session.wait is not None
        return self.session, self.session.wait

    def _effects(self, flow_id: str, step: Step) -> None:
        for name, raw in (step.set or {}).items():
            value = self.fill(raw) if isinstance(raw, str) else raw
            self.actions.append(SetField(name, value))
            if name == "language":
                self.language = str(value)
            else:
                self.fields = {**self.fields, name: value}
        for tag in step.tag or ():
            if tag not in self.tags:
                self.tags = self.tags | {tag}
                self.actions.append(AddTag(tag))
        if step.rsvp is not None:
            self.actions.append(Rsvp(step.rsvp))
        if step.handoff is not None:
            note = self.text(step.handoff.note)
            self.actions.append(Handoff(flow_id, step.id, note, step.handoff.team))

    def _wait(self, flow_id: str, step: Step) -> Outcome:
        wait = self._wait_for(flow_id, step, self._question(flow_id, step))
        return self._outcome(flow_id, self.engine.flows[flow_id].digest, wait)

    def _wait_for(self, flow_id: str, step: Step, asked: SendMessage) -> Wait:
        """Send ``asked`` and wait for the answer: a new wait, its reminder and timeout."""
        self.seq += 1
        reminder_at = self.now + step.remind_after if step.remind_after else None
        if step.timeout_after is not None:
            timeout_at = (reminder_at or self.now) + step.timeout_after
        else:
            timeout_at = self.now + self.engine.flows[flow_id].flow.expire_after
        self.actions.append(asked)
        if reminder_at is not None and reminder_at < timeout_at:
            self.actions.append(Schedule("reminder", reminder_at, self.seq))
        self.actions.append(Schedule("timeout", timeout_at, self.seq))
        return Wait(step.id, self.seq, self.now, timeout_at, reminder_at)

    def _question(self, flow_id: str, step: Step, *, hint: str | None = None) -> SendMessage:
        if hint is not None:
            prompt = hint
        else:
            prompt = self.text(step.send) if step.send else ""
        asked = self.engine.question(flow_id, step, self.language)
        kind: Kind = "hint" if hint is not None else "question"
        content = Content(prompt, kind, asked.choices, asked.answer, asked.scale)
        return SendMessage(flow_id, step.id, content, step.urgent)

    def _reminder(self, flow_id: str, step: Step) -> SendMessage:
        question = self._question(flow_id, step)
        asked = question.content
        if step.reminder:  # the coordinator's own words, which say how to answer
            content = replace(asked, text=self.text(step.reminder), options_in_text=True)
        else:
            content = replace(asked, text=self.text(REMINDER_PREFIX, question=asked.text))
        return replace(question, content=replace(content, kind="reminder"))

    def _hint(self, step: Step, text: str) -> str:
        if step.hint:
            return self.text(step.hint)
        ask = step.ask
        assert ask is not None
        if ask.choice is not None:
            return self.text(HINT_CHOICE, count=len(ask.choice))
        if ask.yesno is not None:
            return self.text(HINT_YESNO)
        if ask.rating is not None:
            return self.text(HINT_NUMBER_RANGE, min=ask.rating.min, max=ask.rating.max)
        if ask.number is not None:
            if ask.number.min is not None and ask.number.max is not None:
                return self.text(HINT_NUMBER_RANGE, min=ask.number.min, max=ask.number.max)
            return self.text(HINT_NUMBER)
        if ask.date is not None:
            future = ask.date.future and matching.parse_date(text, self.language, self._today())
            return self.text(HINT_DATE_FUTURE if future else HINT_DATE)
        assert ask.text is not None
        if len(text.strip()) > ask.text.max_length:
            return self.text(HINT_TEXT_LONG, max=ask.text.max_length)
        return self.text(HINT_TEXT)

    def _today(self) -> Any:
        return to_local(self.now, self.timezone).date()

    def _understand(self, flow_id: str, step: Step, text: str, *, button: bool) -> Any:
        """The value a reply means for this question, or None if it does not answer it."""
        ask = step.ask
        assert ask is not None
        language = self.language
        vocabulary = self.engine.vocabulary
        if ask.choice is not None or ask.yesno is not None:
            if button and text in ask.branch_keys():
                return text
            found = self.engine.understanding(flow_id, step, language).understand(text)
            if found is None and ask.other is not None and any(w.isalnum() for w in text):
                cleaned = " ".join(text.split())  # their own words, kept
                return cleaned[: TextSpec().max_length] if tokens(cleaned) else None
            return None if found == AMBIGUOUS else found
        if ask.rating is not None:
            return matching.parse_rating(text, language, ask.rating.min, ask.rating.max, vocabulary)
        if ask.number is not None:
            number = matching.parse_number(text, language, vocabulary)
            spec = ask.number
            if number is None or (spec.whole and number != int(number)):
                return None
            if (spec.min is not None and number < spec.min) or (
                spec.max is not None and number > spec.max
            ):
                return None
            return int(number) if number == int(number) else number
        if ask.date is not None:
            day = matching.parse_date(text, language, self._today())
            if day is None or (ask.date.future and day < self._today()):
                return None
            return day.isoformat()
        assert ask.text is not None
        cleaned = " ".join(text.split())
        return cleaned if 0 < len(cleaned) <= ask.text.max_length else None

    def _route(self, step: Step, *, answer: Any = None) -> str | None:
        """The next step after ``step`` (None: the end of this flow)."""
        if step.branch:
            for case in step.branch:
                if self._holds(case.if_):
                    return case.next
            return step.otherwise
        if step.otherwise and not step.next:
            return step.otherwise
        if isinstance(step.next, dict):
            key = str(answer) if answer is not None else ""
            return step.next.get(key) or step.next.get("default")
        return step.next

    def _holds(self, cond: Condition) -> bool:
        if cond.tag is not None:
            return cond.tag in self.tags
        assert cond.field is not None
        value = self._lookup(Placeholder(cond.field))
        if cond.is_set is not None:
            return (value not in (None, "")) == cond.is_set
        if value is None:
            return False
        if cond.is_ is not None:
            return _same(value, cond.is_)
        if cond.is_not is not None:
            return not _same(value, cond.is_not)
        if cond.in_ is not None:
            return any(_same(value, option) for option in cond.in_)
        number = _as_number(value)
        if number is None:
            return False
        if cond.at_least is not None:
            return number >= cond.at_least
        return cond.at_most is not None and number <= cond.at_most

    def _lookup(self, placeholder: Placeholder) -> Any:
        scope, key = placeholder.scope, placeholder.key
        if scope == "answers":
            return self.answers.get(key)
        if scope == "event":
            # An event's texts may be given per language: {"en": ..., "cy": ...}.
            return in_language((self.trigger.event or {}).get(key), self.language)
        if scope == "fields":
            return self.fields.get(key)
        if key == "language":
            return self.language
        if key == "name":
            parts = [self.fields.get("first_name"), self.fields.get("last_name")]
            return " ".join(str(p) for p in parts if p) or None
        return self.fields.get(key)

    def fill(self, template: str, **extra: Any) -> str:
        """``template`` with its placeholders filled in, as it stands (for field values)."""
        if not extra:
            return render(template, self._lookup, self._format)

        def lookup(p: Placeholder) -> Any:
            return extra[p.name] if p.name in extra else self._lookup(p)

        return render(template, lookup, self._format)

    def _format(self, value: Any, form: str | None) -> str:
        return format_value(value, form, language=self.language, timezone=self.timezone)

    def text(self, template: str, **extra: Any) -> str:
        """``template`` translated for the person and filled in."""
        if "{" not in template and not extra:
            return self.engine.static_text(self.language, template)
        return self.fill(self.engine.translate(self.language, template), **extra)

    def end(self, flow_id: str, reason: str, detail: str = "") -> Outcome:
        self.actions.append(EndSession(flow_id, reason, detail))
        definition = self.engine.flows.get(flow_id)
        ended = Session(
            flow=flow_id,
            version=definition.digest if definition else "",
            status="ended",
            started_at=self.started_at,
            answers=self.answers,
            seq=self.seq,
            ended_at=self.now,
            end_reason=reason,
        )
        return Outcome(ended, tuple(self.actions), started=self.fresh)

    def _outcome(self, flow_id: str, version: str, wait: Wait) -> Outcome:
        """The session waiting at ``wait``, with everything this run changed."""
        session = Session(
            flow=flow_id,
            version=version,
            status="waiting",
            started_at=self.started_at,
            answers=self.answers,
            stack=self.stack,
            wait=wait,
            seq=self.seq,
        )
        return Outcome(session, tuple(self.actions), started=self.fresh)

    def _unchanged(self, session: Session, wait: Wait | None = None) -> Outcome:
        return self._outcome(session.flow, session.version, wait or self._waiting()[1])


def _same(value: Any, expected: Any) -> bool:
    a, b = _as_number(value), _as_number(expected)
    if a is not None and b is not None:
        return a == b
    return normalize(str(value)) == normalize(str(expected))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None
