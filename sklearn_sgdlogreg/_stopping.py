"""The stopping rule of a fit."""

import numpy as np


class StoppingRule:
    """Stalled after ``n_iter_no_change`` epochs without relative improvement.

    An epoch improves when its value (the training objective, or with early
    stopping the validation log-loss) is below the best value so far by at
    least ``tol`` times that best value. The first epoch always improves.

    Parameters
    ----------
    tol : float or None
        None: the rule never stalls.
    n_iter_no_change : int
    """

    def __init__(self, tol, n_iter_no_change):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.best = np.inf
        self._n_epochs = 0
        self._no_improvement = 0

    def stalled(self, value):
        """Take an epoch's value; return whether the rule has stalled.

        The count of epochs without improvement starts again after a stall,
        so that a schedule that adapts (``"adaptive"``) gets as many epochs
        at its new rate.
        """
        if self.tol is not None:
            improved = self._n_epochs == 0 or value < self.best - self.tol * abs(
                self.best
            )
            self._no_improvement = 0 if improved else self._no_improvement + 1
        self._n_epochs += 1
        self.best = min(self.best, value)
        if self._no_improvement < self.n_iter_no_change:
            return False
        self._no_improvement = 0
        return True
