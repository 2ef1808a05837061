"""The elastic-net penalty.

``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)``:

``penalty="l2"`` is ``l1_ratio=0``, ``"l1"`` is ``l1_ratio=1``, ``None`` is
``alpha=0``. The intercept is never penalised.
"""

import numpy as np


class ElasticNet:
    """Strengths of the two parts of the penalty.

    Parameters
    ----------
    alpha : float
    l1_ratio : float
    """

    def __init__(self, alpha, l1_ratio):
        self.l1 = alpha * l1_ratio
        self.l2 = alpha * (1.0 - l1_ratio)

    @classmethod
    def from_params(cls, penalty, alpha, l1_ratio):
        if penalty is None:
            return cls(0.0, 0.0)
        if penalty == "elasticnet" and l1_ratio is None:
            raise ValueError("l1_ratio must be a number with penalty='elasticnet'.")
        l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
        return cls(alpha, l1_ratio)

    def value(self, V, scale=1.0):
        """Penalty of the weights ``scale * V`` (``V`` of any shape).

        Taking the scale apart spares the solver a scaled copy of its
        weights, and the sum of squares needs no temporary. Both sums are in
        float64 whatever the weights' type.
        """
        value = 0.0
        if self.l1:
            value += self.l1 * abs(scale) * float(np.abs(V).sum(dtype=np.float64))
        if self.l2:
            flat = V.reshape(-1)
            squares = np.einsum("i,i->", flat, flat, dtype=np.float64)
            value += 0.5 * self.l2 * scale**2 * float(squares)
        return value
