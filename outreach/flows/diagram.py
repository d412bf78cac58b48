"""Draw a flow as a Mermaid flowchart, for coordinators' documents and reviews."""

from __future__ import annotations

from outreach.flows.loader import FlowDefinition
from outreach.flows.schema import Step

_END = "__end__"


def mermaid(definition: FlowDefinition) -> str:
    """The flow as Mermaid ``flowchart TD`` source; questions are diamonds.

    >>> from outreach.flows.loader import load_text
    >>> flow = load_text('''
    ... version: 1
    ... flow: hello
    ... description: Say hello
    ... steps:
    ...   - id: hi
    ...     send: Hello "there"
    ... ''')
    >>> print(mermaid(flow))
    flowchart TD
        hi["hi: Hello #quot;there#quot;"]
        __end__(["end"])
        hi --> __end__
    """
    lines = ["flowchart TD"]
    edges: list[str] = []
    ends = False
    for step in definition.flow.steps:
        lines.append(f"    {_node(step)}")
        targets = step.targets()
        for label, target in targets:
            arrow = "-->" if label in ("next", "branch") else f"-- {_escape(label)} -->"
            if label == "branch":
                arrow = "-- if -->"
            edges.append(f"    {step.id} {arrow} {target}")
        if step.start_flow is not None:
            edges.append(
                f"    {step.id} -. runs .-> flow_{step.start_flow.flow}"
                f'[["flow {step.start_flow.flow}"]]'
            )
        falls_through = not targets or (
            isinstance(step.next, dict) and "default" not in step.next and not step.branch
        )
        if falls_through or step.end:
            ends = True
            edges.append(f"    {step.id} --> {_END}")
    if ends:
        lines.append(f'    {_END}(["end"])')
    return "\n".join(lines + edges)


def _node(step: Step) -> str:
    words = (step.send or "").strip().replace("\n", " ")
    summary = words if len(words) <= 40 else words[:39] + "…"
    text = _escape(f"{step.id}: {summary}" if summary else step.id)
    if step.ask is not None:
        return f'{step.id}{{"{text} ({step.ask.kind})"}}'
    if step.branch:
        return f'{step.id}{{{{"{text}"}}}}'
    return f'{step.id}["{text}"]'


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")
