"""Learning-rate schedules: formulas, batch sums, and pace beside SGDClassifier."""

import pytest
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg._schedules import make_schedule
from sklearn_sgdlogreg.datasets import debian_tfidf_split


def batch_step(schedule, t, n_samples):
    """Sum of the per-sample rates of samples ``t .. t + n_samples - 1``."""
    return float(schedule.batch_steps(t, [n_samples])[0])


@pytest.mark.parametrize(
    "learning_rate, formula",
    [
        ("constant", lambda t: 0.1),
        ("invscaling", lambda t: 0.1 / t**0.25),
        ("optimal", lambda t: 1 / (1e-3 * (1 / (1e-3**0.75) + t - 1))),
    ],
)
def test_batch_step_is_the_sum_of_per_sample_rates(learning_rate, formula):
    schedule = make_schedule(learning_rate, eta0=0.1, power_t=0.25, alpha=1e-3)
    for t, m in [(1, 1), (1, 100), (5000, 37)]:
        expected = sum(formula(t + k) for k in range(m))
        assert batch_step(schedule, t, m) == pytest.approx(expected, rel=1e-12)


def test_adaptive_divides_by_five_and_stops_below_a_millionth():
    schedule = make_schedule("adaptive", eta0=1e-4, power_t=0.5, alpha=1e-4)
    assert batch_step(schedule, 1, 10) == pytest.approx(1e-3)
    assert schedule.stalled() is False
    assert batch_step(schedule, 1, 10) == pytest.approx(2e-4)
    for _ in range(3):
        stopped = schedule.stalled()
    assert stopped


@pytest.fixture(scope="module")
def text():
    return debian_tfidf_split("binary", n_documents=12000)


_SCHEDULES = [
    ("optimal", 0.01),
    ("constant", 0.01),
    ("invscaling", 0.5),
    ("adaptive", 0.01),
]


@pytest.mark.parametrize(
    "learning_rate, eta0, batch_size",
    # Per-sample steps make 9,600 batches an epoch: two schedules only.
    [(*schedule, 1) for schedule in _SCHEDULES[:2]]
    + [(*schedule, b) for schedule in _SCHEDULES for b in (32, 1024)],
)
def test_each_schedule_learns_as_well_as_sgdclassifiers(
    text, learning_rate, eta0, batch_size
):
    """Same eta0, same epochs (3, on 9,600 documents): held-out log-loss no
    more than 5% worse."""
    X_train, X_test, y_train, y_test = text
    params = dict(
        learning_rate=learning_rate, eta0=eta0, max_iter=3, tol=None, random_state=0
    )
    theirs = SGDClassifier(loss="log_loss", **params).fit(X_train, y_train)
    ours = SGDLogisticRegression(batch_size=batch_size, average=False, **params)
    ours.fit(X_train, y_train)
    their_loss = log_loss(y_test, theirs.predict_proba(X_test))
    our_loss = log_loss(y_test, ours.predict_proba(X_test))
    assert our_loss < 1.05 * their_loss, (our_loss, their_loss)
