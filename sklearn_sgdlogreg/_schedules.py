"""Learning-rate schedules, per sample.

Each schedule gives the rate ``eta(t)`` of the ``t``-th sample (``t`` starts
at 1), with SGDClassifier's formulas. A mini-batch of ``m`` samples that
starts at sample ``t`` moves by the rates those ``m`` samples would have
used one at a time, ``eta(t) + ... + eta(t + m - 1)``: a batch step is the
sum of per-sample steps, so the pace of learning per sample does not depend
on the batch size.
"""

import numpy as np


class _Schedule:
    per_feature = False

    def rate(self, t):
        raise NotImplementedError

    def batch_steps(self, t, counts):
        """Steps of consecutive batches of ``counts`` samples, the first at ``t``.

        Batches of no samples (every weight zero) get a step of 0.
        """
        counts = np.asarray(counts, dtype=np.intp)
        ends = np.cumsum(counts)
        steps = np.zeros(counts.size)
        taken = counts > 0
        if taken.any():
            rates = self.rate(np.arange(t, t + ends[-1], dtype=float))
            steps[taken] = np.add.reduceat(rates, (ends - counts)[taken])
        return steps

    def fit_to_data(self, mean_squared_norm):
        """Adjust to the data seen: its mean squared row norm.

        Only ``"auto"`` depends on the data; the others ignore it.
        """

    def stalled(self):
        """The stopping rule stalled: adapt, and return whether to stop.

        A schedule with nothing to adapt stops.
        """
        return True


class Constant(_Schedule):
    """``eta = eta0``."""

    def __init__(self, eta0):
        self.eta0 = eta0

    def rate(self, t):
        return np.full_like(t, self.eta0)


class Optimal(_Schedule):
    """``eta = 1 / (alpha * (t0 + t - 1))``, Bottou's schedule.

    ``t0`` makes the first rate ``alpha ** -0.25``, the heuristic scikit-learn
    uses for the log loss.
    """

    def __init__(self, alpha):
        self.alpha = alpha
        first_rate = alpha**-0.25
        self.t0 = 1.0 / (first_rate * alpha)

    def rate(self, t):
        return 1.0 / (self.alpha * (self.t0 + t - 1))


class Auto(Optimal):
    """Bottou's schedule, its per-sample rate at most ``2 / mean ||x||^2``.

    At weak regularisation ``1 / (alpha t)`` stays large for many epochs
    (at ``alpha=1e-7``, above 40 per sample after a pass over 50,000
    documents), so the per-coordinate caps and the Newton damping set every
    step, and each step fits its batch: the iterates jump from batch to
    batch and the fit needs many epochs. Bounded by a rate of the order of
    the inverse curvature of one typical sample, the iterates stay close to
    the optimum, and the running average (``average="auto"``) removes the
    noise that is left. Where ``1 / (alpha t)`` falls below the bound early
    in the first pass (``alpha=1e-4`` on unit-norm rows: after about 4,000
    samples), this is ``"optimal"`` from there on.
    The factor 2 was chosen among 0.5, 2 and 4 on the Debian tasks
    (``docs/defaults.md``).
    """

    def __init__(self, alpha):
        super().__init__(alpha)
        self.rate_limit = np.inf

    def fit_to_data(self, mean_squared_norm):
        self.rate_limit = 2.0 / mean_squared_norm if mean_squared_norm > 0 else np.inf

    def rate(self, t):
        return np.minimum(self.rate_limit, super().rate(t))


class InvScaling(_Schedule):
    """``eta = eta0 / t ** power_t``."""

    def __init__(self, eta0, power_t):
        self.eta0 = eta0
        self.power_t = power_t

    def rate(self, t):
        return self.eta0 / t**self.power_t


class Adaptive(_Schedule):
    """``eta = eta0`` until the stopping criterion fails, then divided by 5.

    ``eta0`` is the current rate. Each ``fit`` and each ``partial_fit`` call
    starts from the estimator's ``eta0``, as SGDClassifier's does.
    """

    smallest_rate = 1e-6

    def __init__(self, eta0):
        self.eta0 = eta0

    def rate(self, t):
        return np.full_like(t, self.eta0)

    def stalled(self):
        """Divide the rate by 5; return True once it is too small to go on."""
        self.eta0 /= 5
        return self.eta0 < self.smallest_rate


class AdaGrad(_Schedule):
    """Per-feature rates ``eta0 / sqrt(sum of the feature's squared gradients)``.

    Not a schedule of ``t``: the solver keeps the accumulators. A feature
    seen often gets small steps, a rare one keeps large steps, which suits
    sparse text. ``eta0`` is the step of one batch, not of one sample.
    """

    per_feature = True

    def __init__(self, eta0):
        self.eta0 = eta0


def make_schedule(learning_rate, eta0, power_t, alpha):
    """Turn the estimator's ``learning_rate`` string into a schedule object."""
    if learning_rate == "adagrad":
        return AdaGrad(eta0)
    if learning_rate == "auto":
        return Auto(alpha)
    if learning_rate == "optimal":
        return Optimal(alpha)
    if learning_rate == "constant":
        return Constant(eta0)
    if learning_rate == "invscaling":
        return InvScaling(eta0, power_t)
    return Adaptive(eta0)
