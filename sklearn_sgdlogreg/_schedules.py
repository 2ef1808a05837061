"""Learning-rate schedules, per sample.

Each schedule gives the rate ``eta(t)`` of the ``t``-th sample (``t`` starts
at 1), with SGDClassifier's formulas. A mini-batch of ``m`` samples that
starts at sample ``t`` moves by the rates those ``m`` samples would have
used one at a time, ``eta(t) + ... + eta(t + m - 1)``: a batch step is the
sum of per-sample steps, so the pace of learning per sample does not depend
on the batch size.

Samples are counted in units of sample weight, as scikit-learn reads a
weight: a row of weight 3 is three samples, so integer weights and repeated
rows take the same steps. A fractional count takes that fraction of the
next sample's rate (the running sum of rates is linear between whole
samples), so a batch's step depends only on where its count starts and
ends. The sums are in closed form: a batch of rows of weight 1,000 costs
what a batch of rows of weight 1 does.
"""

import numpy as np
from scipy.special import digamma


class _Schedule:
    per_feature = False

    def rate(self, t):
        raise NotImplementedError

    def rate_sum(self, a, b):
        """``rate(a) + ... + rate(b - 1)`` for whole-number arrays ``a <= b``."""
        raise NotImplementedError

    def batch_steps(self, t, counts):
        """Steps of consecutive batches of ``counts`` samples, the first at ``t``.

        ``counts`` are in units of sample weight and need not be whole.
        Batches of no samples (every weight zero) get a step of 0.
        """
        counts = np.asarray(counts, dtype=float)
        edges = t + np.concatenate(([0.0], np.cumsum(counts)))
        whole = np.floor(edges)
        part = edges - whole
        with np.errstate(invalid="ignore"):
            # 0 * an infinite rate is no rate at all, not NaN.
            partial = np.where(part > 0, part * self.rate(whole), 0.0)
        steps = self.rate_sum(whole[:-1], whole[1:]) + partial[1:] - partial[:-1]
        steps[counts == 0] = 0.0
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

    def rate_sum(self, a, b):
        return self.eta0 * (b - a)


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

    def rate_sum(self, a, b):
        return harmonic_sum(self.t0 + a - 1, b - a) / self.alpha


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

    def rate_sum(self, a, b):
        # Bottou's rate decreases: the limit holds up to the first sample
        # whose rate is below it, Bottou's rate from there on.
        with np.errstate(divide="ignore", over="ignore"):
            crossing = np.float64(1.0) / (self.alpha * self.rate_limit) - self.t0 + 1
        crossing = max(np.ceil(crossing), 1.0)
        limited = np.minimum(b, crossing) - np.minimum(a, crossing)
        tail = super().rate_sum(np.maximum(a, crossing), np.maximum(b, crossing))
        if not limited.any():
            # Before any data the limit is inf, and inf * 0 would be NaN.
            return tail
        return self.rate_limit * limited + tail


class InvScaling(_Schedule):
    """``eta = eta0 / t ** power_t``."""

    def __init__(self, eta0, power_t):
        self.eta0 = eta0
        self.power_t = power_t

    def rate(self, t):
        return self.eta0 / t**self.power_t

    def rate_sum(self, a, b):
        return self.eta0 * power_sum(a, b, self.power_t)


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

    def rate_sum(self, a, b):
        return self.eta0 * (b - a)

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


def harmonic_sum(x, n):
    """``1 / x + 1 / (x + 1) + ... + 1 / (x + n - 1)``, to about 1e-15.

    That is ``digamma(x + n) - digamma(x)``; far from 0 the difference of
    two nearly equal digammas loses digits, so there it is taken from
    digamma's asymptotic series term by term, the leading term as
    ``log1p(n / x)``.
    """
    x, n = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, float))
    far = x >= 64
    total = np.empty_like(x)
    near = ~far
    total[near] = digamma(x[near] + n[near]) - digamma(x[near])
    x, n = x[far], n[far]

    def series(y):  # digamma(y) - log(y), to y ** -6
        with np.errstate(over="ignore"):  # y * y = inf: inv2 = 0, as it should
            inv2 = 1.0 / (y * y)
        return -0.5 / y - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 / 252))

    total[far] = np.log1p(n / x) + series(x + n) - series(x)
    return total


def power_sum(a, b, p):
    """``a ** -p + (a + 1) ** -p + ... + (b - 1) ** -p`` for whole ``1 <= a <= b``.

    Summed exactly up to a point past which the Euler-Maclaurin formula to
    the fifth derivative is accurate to about 1e-15 (its error falls as
    ``(p / k) ** 6``), and by that formula from there on.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, float))
    start = int(min(64 + 32 * abs(p), 10_000))
    with np.errstate(over="ignore"):
        terms = np.arange(1, start, dtype=float) ** -p
    low = np.minimum(a, start).astype(np.intp)
    mid = np.minimum(b, start).astype(np.intp)
    # Running sums from the small terms' end, so that the difference of two
    # of them keeps the digits of the terms between.
    if p >= 0:
        after = np.concatenate(([0.0], np.cumsum(terms[::-1])))[::-1]
        total = after[low - 1] - after[mid - 1]  # after[k - 1]: from k on
    else:
        before = np.concatenate(([0.0], np.cumsum(terms)))  # before[k - 1]: to k
        total = before[mid - 1] - before[low - 1]
    x, y = np.maximum(a, start), np.maximum(b, start)
    return total + _euler_maclaurin(x, y, p)


def _euler_maclaurin(x, y, p):
    """``x ** -p + ... + (y - 1) ** -p`` for large whole ``x <= y``."""
    ratio = np.log1p((y - x) / x)
    with np.errstate(over="ignore", invalid="ignore"):
        if p == 1:
            integral = ratio
        else:
            integral = x ** (1 - p) * np.expm1((1 - p) * ratio) / (1 - p)
        ends = -(x**-p) * np.expm1(-p * ratio) / 2

        def derivative(order, z):  # d^order/dz^order of z ** -p
            return np.prod([-p - i for i in range(order)]) * z ** (-p - order)

        corrections = sum(
            factor * (derivative(order, y) - derivative(order, x))
            for order, factor in ((1, 1 / 12), (3, -1 / 720), (5, 1 / 30240))
        )
        total = integral + ends + corrections
    return np.where(x == y, 0.0, total)
