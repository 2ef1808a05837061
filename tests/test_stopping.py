"""The stopping rule: relative improvement, patience, restart after a stall."""

import pytest

from sklearn_sgdlogreg._stopping import StoppingRule


def test_the_first_epoch_improves_and_patience_counts_the_rest():
    rule = StoppingRule(tol=0.1, n_iter_no_change=2)
    assert rule.stalled(1.0) is False  # the first value is the best so far
    assert rule.stalled(0.95) is False  # 5% better: not by tol, one epoch
    assert rule.stalled(0.92) is True  # another: two epochs without it
    assert rule.best == pytest.approx(0.92)


def test_an_improvement_by_tol_resets_the_count():
    rule = StoppingRule(tol=0.1, n_iter_no_change=2)
    values = [1.0, 0.95, 0.8, 0.79, 0.78]
    stalls = [rule.stalled(value) for value in values]
    # 0.8 is 16% below the best 0.95 (and 1.0): it improves; 0.79 and 0.78
    # then are two epochs within 10% of 0.8.
    assert stalls == [False, False, False, False, True]


def test_the_count_restarts_after_a_stall():
    """An adaptive schedule gets n_iter_no_change epochs at its new rate."""
    rule = StoppingRule(tol=0.1, n_iter_no_change=2)
    stalls = [rule.stalled(value) for value in [1.0, 1.0, 1.0, 1.0, 1.0]]
    assert stalls == [False, False, True, False, True]


def test_tol_none_never_stalls():
    rule = StoppingRule(tol=None, n_iter_no_change=1)
    assert not any(rule.stalled(value) for value in [1.0, 2.0, 3.0, 3.0])


def test_a_worse_value_does_not_become_the_best():
    rule = StoppingRule(tol=0.0, n_iter_no_change=3)
    for value in [1.0, 2.0, 0.5, 0.7]:
        rule.stalled(value)
    assert rule.best == 0.5
