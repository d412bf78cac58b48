"""The consensus statistics on their own: estimates, tests and what is singled out."""

from __future__ import annotations

import pytest

from outreach.services.consensus import (
    Tally,
    analyse,
    common_ground,
    distinctive,
    divisive,
    estimate,
    z_one,
    z_two,
)

AGREE = Tally(45, 3, 2)
DISAGREE = Tally(3, 45, 2)
SPLIT = Tally(17, 17, 16)


def test_estimate_smooths_small_counts_towards_a_half() -> None:
    assert estimate(1, 1) == pytest.approx(2 / 3)  # one vote is not certainty
    assert estimate(50, 50) == pytest.approx(51 / 52)


def test_z_scores_grow_with_evidence_and_are_zero_at_a_half() -> None:
    assert z_one(4, 5) < z_one(40, 50)
    assert z_one(10, 20) == pytest.approx(0.0)
    assert z_two(40, 50, 40, 50) == pytest.approx(0.0)
    assert z_two(10, 50, 40, 50) < 0 < z_two(40, 50, 10, 50)


def test_passes_count_as_seen_so_everyone_passing_is_no_consensus() -> None:
    views = analyse({1: {"a": Tally(0, 0, 40), "b": Tally(0, 0, 40)}})
    assert common_ground(views) == [] and divisive(views) == []


def test_consensus_needs_every_group_to_agree_significantly() -> None:
    views = analyse(
        {
            1: {"a": AGREE, "b": AGREE, "c": AGREE},
            2: {"a": AGREE, "b": AGREE, "c": SPLIT},
            3: {"a": DISAGREE, "b": DISAGREE, "c": DISAGREE},
        }
    )
    assert [(f.statement, f.direction) for f in common_ground(views)] == [
        (1, "agree"),
        (3, "disagree"),
    ]


def test_a_group_too_small_to_test_is_left_out_not_counted_against() -> None:
    views = analyse({1: {"a": AGREE, "b": AGREE, "tiny": Tally(0, 3, 0)}})
    assert [f.statement for f in common_ground(views)] == [1]
    assert not views[0].groups[2].tested
    one_group = analyse({1: {"a": AGREE, "tiny": Tally(4, 0, 0)}})
    assert common_ground(one_group) == []  # agreement needs two groups to be common


def test_divisive_when_one_group_agrees_and_another_disagrees_furthest_apart_first() -> None:
    views = analyse(
        {
            1: {"a": AGREE, "b": DISAGREE},
            2: {"a": Tally(36, 10, 4), "b": Tally(10, 36, 4)},
            3: {"a": AGREE, "b": SPLIT},  # apart, but b does not disagree
        }
    )
    assert [f.statement for f in divisive(views)] == [1, 2]
    assert views[0].spread > views[1].spread > 0


def test_distinctive_is_what_a_group_says_more_than_the_rest() -> None:
    views = analyse(
        {
            1: {"carers": AGREE, "patients": SPLIT, "staff": SPLIT},
            2: {"carers": AGREE, "patients": AGREE, "staff": AGREE},
            3: {"carers": SPLIT, "patients": SPLIT, "staff": DISAGREE},
        }
    )
    found = distinctive(views)
    assert {g: [(f.statement, f.direction) for f in items] for g, items in found.items()} == {
        "carers": [(1, "agree")],
        "staff": [(3, "disagree")],
    }
