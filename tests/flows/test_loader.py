"""Loading flow files: safety limits and YAML's surprises."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.errors import FlowLoadError
from outreach.flows.loader import load_file, load_text

MINIMAL = "version: 1\nflow: f\ndescription: d\nsteps:\n  - id: a\n    send: hi\n"


def test_file_over_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(MINIMAL + "# " + "x" * 5000 + "\n")
    with pytest.raises(FlowLoadError) as caught:
        load_file(path, max_bytes=2048)
    assert caught.value.problems[0].code == "too-large"
    assert "split it into several flows" in str(caught.value)


def test_yes_and_no_keys_stay_words() -> None:
    text = MINIMAL.replace(
        "    send: hi\n",
        "    send: Come?\n    ask:\n      choice:\n        yes: Yes\n        no: No\n",
    )
    definition = load_text(text)
    ask = definition.flow.steps[0].ask
    assert ask is not None and ask.choice is not None
    assert list(ask.choice) == ["yes", "no"]
    assert ask.choice["no"].label == "No"


def test_unsafe_yaml_tags_are_refused() -> None:
    with pytest.raises(FlowLoadError, match=r"7:7: the tag .*python/object.* is not allowed"):
        load_text(MINIMAL + "evil: !!python/object/apply:os.system ['true']\n")


def test_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    with pytest.raises(FlowLoadError, match="too many values"):
        load_text(bomb)


def test_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL.replace("hi", "caf\xe9").encode("latin-1"))
    with pytest.raises(FlowLoadError, match="not UTF-8"):
        load_file(path, max_bytes=10_000)


def test_digest_changes_with_content() -> None:
    assert load_text(MINIMAL).digest != load_text(MINIMAL.replace("hi", "hello")).digest


def test_deep_nesting_is_refused_with_its_line() -> None:
    deep = MINIMAL + "extra: " + "[" * 10_000 + "]" * 10_000 + "\n"
    with pytest.raises(FlowLoadError) as caught:
        load_text(deep)
    [problem] = caught.value.problems
    assert (problem.code, problem.line) == ("yaml-refused", 7)
    assert "nested" in problem.message


def test_deep_mappings_are_refused_too() -> None:
    deep = MINIMAL + "".join(f"{'  ' * i}k{i}:\n" for i in range(300)) + "  " * 300 + "x: 1\n"
    with pytest.raises(FlowLoadError, match="nested"):
        load_text(deep)


def test_a_number_thousands_of_digits_long_is_refused() -> None:
    with pytest.raises(FlowLoadError) as caught:
        load_text(MINIMAL + "extra: " + "9" * 5000 + "\n")
    [problem] = caught.value.problems
    assert (problem.code, problem.line, problem.column) == ("yaml-refused", 7, 8)
    assert "too long" in problem.message
