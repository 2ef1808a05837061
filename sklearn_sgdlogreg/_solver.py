"""The mini-batch loop: batches over CSR rows, one gradient step per batch.

The weights are stored as ``W = scale * V`` (V of shape (n_features,
n_outputs)) so that the L2 shrinkage of every weight costs one scalar
multiplication, and the L1 penalty is charged per feature (``l1_total -
l1_applied[j]``, in units of V) and paid when the feature's row is next
touched. A batch therefore costs what its non-zeros cost: it reads and
writes only the rows of V of the features it contains.

One step on a batch B of rows of weights s_i, ``m = sum_i s_i`` samples (a
row of weight 3 counts three times, as if repeated), per-sample schedule
eta(t)::

    eta   = eta(t) + ... + eta(t + m - 1)          sum of per-sample rates
    w_i   = s_i / m
    g_W   = X_B^T G,  G_i = w_i * dloss/dz_i
    eta_j = min(eta, 1 / (c * sum_i w_i x_ij^2))    per-coordinate cap
    eta_b = min(eta, 1 / (c * sum_i w_i))
    dz    = X_B (eta_j g_j) + eta_b g_b             the step's change of scores
    s*    = <G, dz> / sum_i w_i dz_i^T H_i dz_i     Newton step along it
    eta, eta_j, eta_b  *=  min(1, s*)
    W_j  <- (W_j - eta_j g_j) / (1 + eta_j l2)
    W_j  <- toward 0 by the L1 it is owed, eta_j l1 / (1 + eta_j l2) a step
    b    <- b - eta_b g_b

``c * sum_i w_i x_ij^2`` bounds the batch loss's second derivative along
feature j (c bounds the loss's second derivative in the score), and ``c *
sum_i w_i`` along the intercept: no coordinate moves further than a Newton
step along it would. Summed per-sample rates are large for a batch, and the
intercept and the features that many samples share would overshoot by a
factor of up to m without the cap; rare features keep the full step. The caps
bound coordinates one at a time, so the whole step is then damped to the
Newton step of the batch loss along it (H_i: the loss's Hessian in the scores
of sample i). Every coordinate uses one step size for its data gradient and
its penalty, so the fixed points are the minimisers of the objective.

The L1 penalty is cumulative (Tsuruoka, Tsujii and Ananiadou, 2009, as in
SGDClassifier): a weight is moved toward 0, never past it, by all the L1
charged to it less what it has received, so the charge that a weight stopped
at 0 could not take is kept and pulls it back to 0 when noise moves it off.
It leaves exactly at 0 the weights that a soft threshold per step leaves
hovering near it.
AdaGrad, whose missed penalty steps are a closed form per feature, applies
the prox of each step instead.

For the schedules whose rate all features share, the loop over an epoch's
batches runs in compiled code (``_epoch.pyx``). AdaGrad's step runs here in
NumPy, in the same phases: its rates are per feature, so its lazy penalty is
not a shared scale and a shared L1 total but a closed form per feature
(:func:`repeated_prox`), and its intercept has a rate per output; the
compiled weights would need a second bookkeeping for it.

Shapes: inside the solver the weights are ``(n_features, n_outputs)``, the
layout ``X @ W`` wants; the estimator's ``coef_`` is their transpose.
"""

import copy

import numpy as np
import scipy.sparse as sp

from ._epoch import (
    effective_n_threads,
    pay_all_owed_l1,
    row_sums,
    shared_rate_epoch,
    sums,
)
from ._penalties import ElasticNet


class Solver:
    """The weights of a model and all that the next step needs to continue.

    The solver owns the weights ``W = scale * V``, the intercept, the
    penalties features still owe, the running average, AdaGrad's
    accumulators and the statistics of the data seen. The estimator calls
    :meth:`observe` with new data, :meth:`set_average` and :meth:`run_epoch`
    to train, and reads the model through :meth:`coef_intercept`, ``t``,
    ``dtype``, ``per_feature`` and :meth:`weight_norm`.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_outputs)
        Initial weights; owned by the solver from now on.
    intercept : ndarray of shape (n_outputs,)
    average_start : int or None, default=None
        Number of samples after which averaging starts; None for no average.
    per_feature : bool, default=False
        Whether the rates are AdaGrad's, per feature.

    Attributes
    ----------
    t : float
        One plus the number of samples trained on, in units of sample weight.
    """

    def __init__(self, W, intercept, average_start=None, per_feature=False):
        n_features, n_outputs = W.shape
        self.V = W
        self.scale = 1.0
        self.intercept = intercept
        self.t = 1.0
        self.l1_total = 0.0
        self.l1_applied = np.zeros(n_features)
        # The cumulative L1 penalty's charges and moves (``_epoch.pyx``,
        # ``toward_zero``), made when an L1 penalty first runs.
        self.l1_entitled = None
        self.l1_received = None
        self._weight_sum = 0.0
        self._mean_squared_norm = 0.0
        self.first_samples = None
        self.weight_unit = None
        self.samples_per_row = 1.0
        self.average = (
            None
            if average_start is None
            else Average(average_start, n_features, n_outputs, W.dtype)
        )
        self.adagrad = AdaGradState(n_features, n_outputs) if per_feature else None
        # The L1 strength of the last epoch, which reading the model pays the
        # owed charges at (0: nothing is owed).
        self.l1 = 0.0
        self.scale_folds = 0  # counted by the compiled epoch
        # sum(V**2) and sum(|V|), in float64: the penalty's value and the
        # divergence check, kept up to date from the rows an epoch touches.
        self._sum_all_rows()
        self._model = None  # coef_intercept's arrays, until the next change
        self._workspace = None  # the compiled epoch's scratch, kept between epochs

    @property
    def dtype(self):
        """The weights' dtype, which X must have."""
        return self.V.dtype

    @property
    def per_feature(self):
        """Whether the rates are AdaGrad's, per feature."""
        return self.adagrad is not None

    def set_average(self, average_start):
        """Start averaging after ``average_start`` samples (None: stop).

        A solver that was not averaging starts an average of the iterates
        from its next step on.
        """
        self._model = None
        if average_start is None:
            self.average = None
        elif self.average is None:
            n_features, n_outputs = self.V.shape
            self.average = Average(average_start, n_features, n_outputs, self.V.dtype)
        else:
            self.average.start = average_start

    def set_weights(self, W, intercept):
        """Continue from weights set from outside (a ``coef_`` set by hand).

        Nothing is owed any more, nor is the cumulative L1's state kept; an
        average restarts from the next step (it averaged the weights
        replaced); the step counter, the sample statistics and AdaGrad's
        accumulators carry over.
        """
        self.V = W
        self.scale = 1.0
        self.intercept = intercept
        self._model = None
        self._sum_all_rows()
        self.l1_applied[:] = self.l1_total
        if self.l1_entitled is not None:
            self.l1_entitled[:] = 0.0
            self.l1_received[:] = 0.0
        if self.adagrad is not None:
            self.adagrad.paid_until[:] = self.adagrad.n_steps
        if self.average is not None:
            self.average = None
            self.set_average(0)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None  # recomputed on demand, bit for bit
        state["_seen"] = state["_workspace"] = None  # scratch
        # Without L1 (or once every feature has paid it) this is n_features
        # copies of l1_total, which would add a binary model's size again to
        # its pickle.
        if np.all(self.l1_applied == self.l1_total):
            state["l1_applied"] = self.l1_applied.size
        return state

    def __setstate__(self, state):
        if isinstance(state["l1_applied"], int):
            state["l1_applied"] = np.full(state["l1_applied"], state["l1_total"])
        self.__dict__.update(state)

    def __sizeof__(self):
        # What Dask weighs a solver by when it moves or spills one: its
        # arrays (sys.getsizeof sees only the object).
        arrays = [self.V, self.intercept]
        if self.l1_entitled is not None:  # else l1_applied pickles as a number
            arrays += [self.l1_applied, self.l1_entitled, self.l1_received]
        if self.average is not None:
            arrays += [self.average.U, self.average.intercept_sum]
        if self.adagrad is not None:
            arrays += [self.adagrad.squared_sum, self.adagrad.paid_until]
        return object.__sizeof__(self) + sum(
            a.nbytes for a in arrays if a is not None
        )

    def weight_norm(self):
        """The Euclidean norm of the current weights W."""
        return abs(self.scale) * np.sqrt(max(self._squares, 0.0))

    def observe(self, sample_weight, row_squared_norms):
        """Count new data into the statistics the steps depend on.

        The ``"auto"`` schedule bounds its rate by the weighted mean squared
        row norm of the data seen. Call once per new data, not once per
        epoch over the same data.

        The first call fixes how many samples a unit of weight counts
        (``1 / weight_unit``): one, as scikit-learn reads weights, so
        that integer weights and repeated rows take the same steps; but
        weights whose mean is below 1 (weights that sum to 1, say) are
        counted as if scaled to mean 1, since the schedule counts its pace
        in samples and data of 1e-6 samples would not move. The objective
        divides by the summed weight and does not change. The first call
        also fixes ``first_samples``, after which ``average="auto"`` starts
        averaging, and ``samples_per_row``, the unit the average weighs its
        iterates in (any constant gives the same average; this one keeps the
        sums in range for weights near a float's maximum).
        """
        # In float64: float32 weights near their maximum overflow when summed.
        weight_sum = float(sample_weight.sum(dtype=np.float64))
        if self.first_samples is None:
            self._fix_units(weight_sum, np.count_nonzero(sample_weight))
        total = self._weight_sum + weight_sum
        # A running mean, its terms weighted by their share of the total
        # weight: the weighted sum itself overflows for weights and norms
        # near a float's maximum.
        self._mean_squared_norm = self._mean_squared_norm * (
            self._weight_sum / total
        ) + float(
            np.dot(
                np.divide(sample_weight, total, dtype=np.float64),
                row_squared_norms.astype(np.float64, copy=False),
            )
        )
        self._weight_sum = total

    def observe_summary(self, weight_sum, rows, mean_squared_norm):
        """:meth:`observe` for data seen elsewhere, from its summary: its
        summed weight, its rows of non-zero weight and its weighted mean
        squared row norm (the data-parallel fit summarises every partition
        on its worker)."""
        if self.first_samples is None:
            self._fix_units(weight_sum, rows)
        total = self._weight_sum + weight_sum
        self._mean_squared_norm = self._mean_squared_norm * (
            self._weight_sum / total
        ) + mean_squared_norm * (weight_sum / total)
        self._weight_sum = total

    def _fix_units(self, weight_sum, rows):
        """The first data's units: see :meth:`observe`."""
        # Divided by, not multiplied by its inverse: the mean of subnormal
        # weights has no finite inverse.
        self.weight_unit = min(1.0, weight_sum / rows)
        self.first_samples = weight_sum / self.weight_unit
        self.samples_per_row = self.first_samples / rows

    @property
    def mean_squared_norm(self):
        """The weighted mean squared norm of the rows seen (0 before any)."""
        return self._mean_squared_norm

    def run_epoch(
        self, X, y, sample_weight, batches, loss, schedule, penalty, fit_intercept
    ):
        """One pass over ``batches``; return the epoch's training objective.

        Parameters
        ----------
        X : csr_matrix of shape (n_samples, n_features)
            Of the solver's dtype.
        y : ndarray of shape (n_samples,)
            Class indices.
        sample_weight : ndarray of shape (n_samples,)
        batches : Batches
        loss, schedule, penalty
            Objects from ``_losses``, ``_schedules``, ``_penalties``.
        fit_intercept : bool

        Returns
        -------
        objective : float
            The weighted mean of each batch's loss just before its step, plus
            the penalty at the end of the epoch.
        """
        self._model = None
        if self.adagrad is None:
            self._switch_l1(penalty)
        elif not _same_penalty(self.adagrad.penalty, penalty) or (
            self.adagrad.eta0 not in (None, schedule.eta0)
        ):
            # What untouched rows owe is owed at the old strengths and rates
            # (set_params between partial_fit calls).
            self.adagrad.pay_penalty(self, slice(None))
            self._tracked_rows = self.V.shape[0]  # every row may have moved
        self.l1 = penalty.l1
        rows = self._rows_to_track(X)
        if rows is not None:
            before = row_sums(self.V, rows, self._seen_rows())
        folds = self.scale_folds
        epoch = self._shared_rate_epoch if self.adagrad is None else self._adagrad_epoch
        weighted_loss = epoch(
            X, y, sample_weight, batches, loss, schedule, penalty, fit_intercept
        )
        if rows is None or self.scale_folds != folds:
            # A fold rewrote every row: the sums start again from all of V.
            self._sum_all_rows()
            finite = self.average is None or np.isfinite(sums(self.average.U)[1])
        else:
            # Untouched rows of V did not change (their shrink is the
            # scale's): the sums change by the touched rows' difference.
            after = row_sums(self.V, rows, self._seen_rows())
            self._squares += after[0] - before[0]
            self._absolutes += after[1] - before[1]
            self._tracked_rows += after[2]
            # U changes where V does, by the change times P: finite with them
            # and P, short of an overflow, which the full pass catches.
            finite = self.average is None or (
                np.isfinite([self.average.P, self.average.total]).all()
                and np.isfinite(self.average.intercept_sum).all()
            )
        finite = (
            finite
            and np.isfinite(self._squares)
            and np.isfinite(self.scale)
            and np.isfinite(self.intercept).all()
        )
        if not finite:
            return np.inf
        if not batches.total_weight:  # only rows of weight 0: no loss
            return self.penalty_value(penalty)
        return weighted_loss / batches.total_weight + self.penalty_value(penalty)

    def penalty_value(self, penalty):
        """The penalty of the weights ``scale * V`` as they are stored.

        Charges that rows untouched since owe are not counted; otherwise it
        is ``penalty.value(V, scale)``, from sums kept per touched row.
        """
        value = 0.0
        if penalty.l1:
            value += penalty.l1 * abs(self.scale) * self._absolutes
        if penalty.l2:
            value += 0.5 * penalty.l2 * self.scale**2 * max(self._squares, 0.0)
        return value

    def _rows_to_track(self, X):
        """The rows of V an epoch over X may change (X's column indices, with
        repeats), or None when summing all of V instead costs no more,
        amortised: once the distinct rows tracked since the last full pass
        reach its size, which also bounds the rounding the differences
        accumulate. (A chunk's non-zeros may outnumber V's rows and still
        touch few of them: 10,000 Debian descriptions hold 421,000 non-zeros
        in 27,600 columns.)"""
        if self._tracked_rows >= self.V.shape[0]:
            return None
        return X.indices

    def _sum_all_rows(self):
        """sum(V**2) and sum(|V|) from all of V; no rows tracked since."""
        self._squares, self._absolutes = sums(self.V)
        self._tracked_rows = 0

    def _seen_rows(self):
        """``row_sums``'s scratch vector, kept between epochs."""
        if self.__dict__.get("_seen") is None:
            self._seen = np.zeros(self.V.shape[0], dtype=np.uint8)
        return self._seen

    def _switch_l1(self, penalty):
        """Start or end the cumulative L1's state for an epoch under
        ``penalty``."""
        if penalty.l1 and self.l1_entitled is None:
            self.l1_entitled = np.zeros(self.V.shape[0])
            self.l1_received = np.zeros(self.V.shape)
        elif not penalty.l1 and self.l1_entitled is not None:
            # A stretch without L1 (set_params between partial_fit calls)
            # neither charges nor rescales these: what is owed is paid now,
            # and an L1 that returns starts its charges afresh rather than
            # from stale ones.
            pay_all_owed_l1(self, self.V, ElasticNet(self.l1, 1.0))
            self._sum_all_rows()
            self.l1_entitled = self.l1_received = None

    def coef_intercept(self):
        """The model: averaged weights once averaging has started, else current.

        Features untouched since their last step have their owed penalty
        applied here, to a copy; the solver's own state does not change, so
        reading the model never changes what training does next.

        Returns
        -------
        coef : ndarray of shape (n_outputs, n_features)
            Read-only, the transpose of a C-ordered array: ``(n_features,
            n_outputs)`` in memory is the layout ``X @ coef.T`` wants.
            The same arrays until the solver next changes.
        intercept : ndarray of shape (n_outputs,)
            Read-only.
        """
        if self._model is None:
            avg = self.average
            if avg is not None and avg.total:
                # P V - U does not change when owed penalties are paid (U
                # records each payment's change of V times P).
                coef = (avg.P * self.V - avg.U) / avg.total
                intercept = avg.intercept_sum / avg.total
            else:
                coef = self.scale * self._paid_weights()
                intercept = self.intercept.copy()
            coef.setflags(write=False)
            intercept.setflags(write=False)
            self._model = coef.T, intercept
        return self._model

    def _paid_weights(self):
        """V with every owed penalty applied: V itself if nothing is owed,
        else a copy (the owed state stays as it is)."""
        if self.adagrad is not None:
            acc = self.adagrad
            if acc.penalty is None or np.all(acc.paid_until == acc.n_steps):
                return self.V
            solver, acc = copy.copy(self), copy.copy(acc)
            solver.V, solver.average = self.V.copy(), None
            acc.paid_until = acc.paid_until.copy()
            acc.pay_penalty(solver, slice(None))
            return solver.V
        if not self.l1 or np.all(self.l1_applied == self.l1_total):
            return self.V
        solver = copy.copy(self)
        solver.V, solver.average = self.V.copy(), None
        for name in ("l1_applied", "l1_entitled", "l1_received"):
            setattr(solver, name, getattr(self, name).copy())
        pay_all_owed_l1(solver, solver.V, ElasticNet(self.l1, 1.0))
        return solver.V

    def contribution(self, start, weighted_loss, loss_weight):
        """What this solver, a copy of ``start`` that trained on a share of
        the data, adds to the mixture of all shares (:meth:`mixed`).

        ``start`` must have no average scale pending (``average.P == 0``,
        as :meth:`mixed` leaves it). ``weighted_loss``, ``loss_weight``: the
        share's summed weighted losses and weights, for the objective.
        """
        if self.adagrad is not None:
            raise ValueError("AdaGrad's per-feature state cannot be mixed.")
        samples = self.t - start.t
        # Summed in float64, whatever the model's dtype: the mixture scales
        # the mean up, and its rounding with it.
        parts = {
            "samples": samples,
            "W": (samples * self.scale) * self._paid_weights().astype(
                np.float64, copy=False
            ),
            "intercept": samples * self.intercept.astype(np.float64),
            "weighted_loss": weighted_loss,
            "loss_weight": loss_weight,
        }
        if self.average is not None:
            avg, before = self.average, start.average
            # The share's sum of weighted iterates: P V - U less the start's
            # (P = 0 there, so -U).
            parts["average_sum"] = avg.P * self.V.astype(np.float64, copy=False) - avg.U
            if before is not None:
                parts["average_sum"] += before.U
                parts["average_total"] = avg.total - before.total
                parts["average_intercept"] = avg.intercept_sum - before.intercept_sum
            else:
                parts["average_total"] = avg.total
                parts["average_intercept"] = avg.intercept_sum.copy()
        return Contribution(parts)

    def mixed(self, contribution, gain=1.0):
        """A new solver: this one (the shares' common start) moved ``gain``
        times toward the mixture of the shares' models, weighted by their
        samples, with the step counter advanced by all their samples and the
        average holding all their iterates.

        ``gain=1`` is the mixture itself (iterative parameter mixing: Mann
        et al., 2009; McDonald, Hall and Mann, 2010); ``gain`` = the number
        of shares, of equal samples, adds up their moves, as one machine
        taking their steps in turn would to first order (a server learning
        rate, Reddi et al., 2021).

        The owed penalties were paid into each share's model; the
        cumulative L1's state starts afresh, as after :meth:`set_weights`.
        """
        parts = contribution.parts
        mixed = copy.copy(self)
        mixed._model = mixed._seen = None
        if parts["samples"] > 0:
            V = parts["W"] / parts["samples"]
            intercept = parts["intercept"] / parts["samples"]
            if gain != 1:
                start = self.scale * self._paid_weights()
                V = start + gain * (V - start)
                intercept = self.intercept + gain * (intercept - self.intercept)
        else:
            V, intercept = self.scale * self.V, self.intercept
        average = self.average
        mixed.average = None  # set_weights would restart it
        mixed.l1_applied = self.l1_applied.copy()
        mixed.l1_entitled = mixed.l1_received = None  # made afresh by L1
        mixed.set_weights(
            V.astype(self.dtype, copy=False), intercept.astype(self.dtype)
        )
        mixed.t = self.t + parts["samples"]
        if average is not None:
            mixed.average = copy.copy(average)
            # With P = 0, P V - U = -U holds the sum of weighted iterates.
            mixed.average.P = 0.0
            mixed.average.U = average.U - parts["average_sum"].astype(self.dtype)
            mixed.average.total = average.total + parts["average_total"]
            mixed.average.intercept_sum = average.intercept_sum + parts[
                "average_intercept"
            ].astype(self.dtype)
        return mixed

    def _shared_rate_epoch(
        self, X, y, sample_weight, batches, loss, schedule, penalty, fit_intercept
    ):
        """The epoch of the shared-rate schedules, in compiled code."""
        indices, indptr = X.indices, X.indptr
        if indptr.dtype != indices.dtype:
            indptr = indptr.astype(indices.dtype)
        return shared_rate_epoch(
            X.data, indices, indptr, batches.order, batches.starts,
            batches.weights, schedule.batch_steps(self.t, batches.weights),
            np.asarray(y, dtype=np.intp), np.asarray(sample_weight, dtype=float),
            self, penalty, loss.curvature_bound, fit_intercept,
            takes_binary_step(X, self.V.shape[1]),
            effective_n_threads(),
        )  # fmt: skip

    def _adagrad_epoch(
        self, X, y, sample_weight, batches, loss, schedule, penalty, fit_intercept
    ):
        """The epoch of AdaGrad, batch by batch in NumPy."""
        acc = self.adagrad
        acc.eta0 = schedule.eta0
        acc.penalty = penalty if penalty.l1 or penalty.l2 else None
        compact = _Compactor(X.shape[1])
        weighted_loss = 0.0
        for rows, batch_weight in zip(batches, batches.weights):
            if batch_weight == 0:
                continue
            s = sample_weight[rows]
            X_b = X[rows]
            cols, local = compact(X_b.indices)
            X_c = sp.csr_array(
                (X_b.data, local, X_b.indptr), shape=(X_b.shape[0], cols.size)
            )
            omega = (s / batch_weight).astype(self.V.dtype, copy=False)
            V_old = self.V[cols] if self.average is not None else None
            sample_loss = self._adagrad_step(
                X_c, cols, y[rows], omega, loss, fit_intercept
            )
            weighted_loss += float(s @ sample_loss)
            self.t += batch_weight
            if self.average is not None:
                self.average.record_change(cols, self.V[cols] - V_old)
                if self.t - 1 >= self.average.start:
                    self.average.record_iterate(
                        batch_weight / self.samples_per_row, self.scale,
                        self.intercept,
                    )  # fmt: skip
        return weighted_loss

    def _adagrad_step(self, X_c, cols, y, omega, loss, fit_intercept):
        """One AdaGrad step: each touched feature moves at its own rate."""
        acc = self.adagrad
        acc.pay_penalty(self, cols, record_average=False)
        V_c = self.V[cols]
        sample_loss, grad_W, grad_b, G = batch_gradient(
            X_c, y, omega, V_c, self.intercept, loss
        )
        eta_j, eta_b = acc.rates_of_step(cols, grad_W, grad_b, fit_intercept)
        newton_j, newton_b = _newton_rates(X_c, omega, loss.curvature_bound)
        eta_j = np.minimum(eta_j, newton_j)
        eta_b = np.minimum(eta_b, newton_b) if fit_intercept else 0.0
        step_W = grad_W * eta_j[:, np.newaxis]
        step_b = grad_b * eta_b
        damping = _damping(X_c, y, G, omega, step_W, step_b, loss)
        eta_j *= damping
        V_c = V_c - damping * step_W
        if acc.penalty is not None:
            V_c = repeated_prox(V_c, eta_j, acc.penalty, np.ones(cols.size))
        self.V[cols] = V_c
        acc.n_steps += 1
        acc.paid_until[cols] = acc.n_steps
        self.intercept -= (damping * step_b).astype(self.intercept.dtype)
        return sample_loss


class Contribution:
    """A share's additions to a mixture of models (:meth:`Solver.mixed`):
    its samples, its model times its samples, its average's sums and its
    loss. Contributions add, so a tree of workers can sum them."""

    def __init__(self, parts):
        self.parts = parts

    def __sizeof__(self):
        return object.__sizeof__(self) + sum(
            getattr(v, "nbytes", 8) for v in self.parts.values()
        )

    def __add__(self, other):
        # Only the average's keys may be missing, from every share alike.
        return Contribution({key: self.parts[key] + other.parts[key]
                             for key in self.parts})


class Batches:
    """An epoch's visiting order, cut into batches of ``batch_size`` rows.

    The compiled epoch reads ``order``, ``starts`` and ``weights``; AdaGrad's
    iterates over the batches' rows.

    Parameters
    ----------
    rows : ndarray of int
        The rows of X the epoch visits; those of weight 0 are left out.
    sample_weight : ndarray of shape (n_samples,)
    batch_size : int
    rng : RandomState or None, default=None
        Shuffles the rows; None visits them in order.

    Attributes
    ----------
    order : ndarray of intp
        The rows, in visiting order.
    starts : ndarray of intp of shape (n_batches + 1,)
        Where each batch starts in ``order``; the last entry is ``len(order)``.
    weights : ndarray of float64 of shape (n_batches,)
        Each batch's summed weight: the samples its step counts.
    total_weight : float
        The rows' summed weight.
    """

    def __init__(self, rows, sample_weight, batch_size, rng=None):
        self.total_weight = float(sample_weight[rows].sum(dtype=np.float64))
        # Rows of weight 0 are absent: they take no place in a batch, so the
        # batches are those of the data without them.
        weighted = sample_weight[rows] != 0
        if not weighted.all():
            rows = rows[weighted]
        order = rng.permutation(rows) if rng is not None else rows
        self.order = np.ascontiguousarray(order, dtype=np.intp)
        n = self.order.size
        batch_size = min(batch_size, max(n, 1))  # no overflow past n
        self.starts = np.minimum(
            np.arange(0, n + batch_size, batch_size, dtype=np.intp), n
        )
        self.weights = (
            np.add.reduceat(
                sample_weight[self.order], self.starts[:-1], dtype=np.float64
            )
            if n
            else np.zeros(0)
        )

    def __iter__(self):
        """Each batch's rows: slices when the order is a range, else indices."""
        order = self.order
        first = order[0] if order.size else 0
        in_order = np.array_equal(order, np.arange(first, first + order.size))
        for start, stop in zip(self.starts[:-1], self.starts[1:]):
            yield slice(first + start, first + stop) if in_order else order[start:stop]


class Average:
    """The running average of the iterates, kept lazily.

    With iterates ``W_t = scale_t V_t`` weighted by their batches' summed
    sample weights m_t,
    ``sum_t m_t W_t = P V - U`` where ``P = sum_t m_t scale_t`` and U gains
    ``dV * P`` whenever rows of V change by ``dV``. Only the touched rows of
    U change per batch.
    """

    def __init__(self, start, n_features, n_outputs, dtype):
        self.start = start
        self.P = 0.0
        self.U = np.zeros((n_features, n_outputs), dtype=dtype)
        self.total = 0.0
        self.intercept_sum = np.zeros(n_outputs, dtype=dtype)

    def record_change(self, rows, delta):
        if self.total:
            self.U[rows] += delta * self.P

    def record_iterate(self, batch_weight, scale, intercept):
        self.P += batch_weight * scale
        self.total += batch_weight
        self.intercept_sum += batch_weight * intercept


class AdaGradState:
    """Per-feature AdaGrad accumulators and the penalty each row still owes.

    A feature's rate is ``eta0 / sqrt(sum of its squared gradients)`` (the
    squared norm of its row of the batch gradient, summed over the steps that
    touched it). While a row is untouched its rate is constant, so the
    penalty steps it misses have a closed form (:func:`repeated_prox`) and
    are paid when it is next touched.
    """

    def __init__(self, n_features, n_outputs):
        self.squared_sum = np.zeros(n_features)
        self.intercept_squared_sum = np.zeros(n_outputs)
        self.paid_until = np.zeros(n_features, dtype=np.int64)
        self.n_steps = 0
        self.eta0 = None
        self.penalty = None

    def rates(self, rows):
        return self._rate(self.squared_sum[rows])

    def _rate(self, squared_sum):
        """``eta0 / sqrt(squared_sum)``; 0 where no gradient came yet."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(squared_sum > 0, self.eta0 / np.sqrt(squared_sum), 0.0)

    def rates_of_step(self, cols, grad_W, grad_b, fit_intercept):
        """Add a step's squared gradients; return the rates of its features
        and of the intercept (one per output)."""
        self.squared_sum[cols] += np.einsum("ij,ij->i", grad_W, grad_W)
        if not fit_intercept:
            return self.rates(cols), 0.0
        self.intercept_squared_sum += grad_b**2
        return self.rates(cols), self._rate(self.intercept_squared_sum)

    def pay_penalty(self, solver, rows, record_average=True):
        """Apply to ``rows`` the penalty steps they missed while untouched.

        ``record_average=False`` when the caller records the rows' whole
        change in the average itself (a batch step does).
        """
        if self.penalty is None:
            return
        if isinstance(rows, slice):
            # Only the end-of-epoch payment passes a slice: index it once.
            rows = np.arange(self.paid_until.size)[rows]
        missed = self.n_steps - self.paid_until[rows]
        rows, missed = rows[missed > 0], missed[missed > 0]
        if not rows.size:
            return
        V_rows = solver.V[rows]
        V_new = repeated_prox(V_rows, self.rates(rows), self.penalty, missed)
        if record_average and solver.average is not None:
            solver.average.record_change(rows, V_new - V_rows)
        solver.V[rows] = V_new
        self.paid_until[rows] = self.n_steps


def _same_penalty(a, b):
    """Whether two penalties (None: none) have the same strengths."""
    strengths = [(p.l1, p.l2) if p is not None else (0.0, 0.0) for p in (a, b)]
    return strengths[0] == strengths[1]


def repeated_prox(W, eta, penalty, n_times):
    """``n_times`` elastic-net prox steps with rate ``eta``, per row, at once.

    One step maps ``w`` to ``S(w, eta l1) / (1 + eta l2)``; k of them give
    ``sign(w) max(|w| q^k - (l1 / l2) (1 - q^k), 0)`` with ``q = 1 / (1 + eta
    l2)`` (``|w| - k eta l1`` when l2 = 0).
    """
    eta = np.asarray(eta, dtype=float)[:, np.newaxis]
    k = np.asarray(n_times, dtype=float)[:, np.newaxis]
    log_q = -np.log1p(eta * penalty.l2)
    decay = np.exp(k * log_q)
    if penalty.l2 > 0:
        threshold = penalty.l1 / penalty.l2 * -np.expm1(k * log_q)
    else:
        threshold = k * eta * penalty.l1
    magnitude = np.maximum(np.abs(W) * decay - threshold, 0.0)
    return (np.sign(W) * magnitude).astype(W.dtype, copy=False)


class _Compactor:
    """Maps a batch's column indices to 0..n_distinct-1 without sorting."""

    def __init__(self, n_features):
        index_dtype = np.int32 if n_features < 2**31 else np.int64
        self._mark = np.empty(n_features, dtype=index_dtype)
        self._local = np.empty(n_features, dtype=index_dtype)

    def __call__(self, indices):
        positions = np.arange(indices.size, dtype=self._mark.dtype)
        # Any one writer per column wins; comparing finds exactly that one.
        self._mark[indices] = positions
        cols = indices[self._mark[indices] == positions]
        self._local[cols] = np.arange(cols.size, dtype=self._local.dtype)
        return cols, self._local[indices]


def batch_gradient(X, y, omega, W, intercept, loss):
    """Loss and gradient of ``sum_i omega_i * loss(y_i, x_i W + b)``.

    The lab's ``X^T (y_hat - y)``, with weights.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Class indices.
    omega : ndarray of shape (n_samples,)
        Weight of each sample's loss.
    W : ndarray of shape (n_features, n_outputs)
    intercept : ndarray of shape (n_outputs,)
    loss : a loss from ``_losses``

    Returns
    -------
    sample_loss : ndarray of shape (n_samples,)
        Unweighted loss of each sample.
    grad_W : ndarray of shape (n_features, n_outputs)
    grad_b : ndarray of shape (n_outputs,)
    G : ndarray of shape (n_samples, n_outputs)
        ``omega_i * dloss / dz_i``, the gradient with respect to the scores.
    """
    raw_prediction = X @ W
    raw_prediction += intercept
    sample_loss, G = loss.loss_gradient(raw_prediction, y)
    G *= omega[:, np.newaxis]
    return sample_loss, X.T @ G, G.sum(axis=0), G


def takes_binary_step(X, n_outputs):
    """Whether an epoch takes the binary step by feature.

    Its workspace is two doubles, a byte and an index a feature. It runs
    when X takes at least that much memory, so that the workspace adds no
    more than about size(X) to a fit's peak; a wide hashed feature space seen
    through a few rows (a ``partial_fit`` chunk, say) takes the general step.
    """
    workspace = X.shape[1] * (2 * 8 + 1 + X.indices.itemsize)
    return n_outputs == 1 and workspace <= X.data.nbytes + X.indices.nbytes


def _newton_rates(X_c, omega, c):
    """Per-feature and intercept rate caps: inverse curvature along each."""
    X_squared = sp.csr_array((X_c.data**2, X_c.indices, X_c.indptr), shape=X_c.shape)
    with np.errstate(divide="ignore"):
        return 1.0 / (c * (X_squared.T @ omega)), 1.0 / (c * float(omega.sum()))


def _damping(X_c, y, G, omega, step_W, step_b, loss):
    """The fraction of a step that a Newton step along it would take, at most 1.

    Moving the weights by ``-s * step`` changes the scores of sample i by
    ``-s * dz_i`` with ``dz = X step_W + step_b``. To second order the batch
    loss changes by ``-s <G, dz> + s^2 / 2 * sum_i omega_i dz_i^T H_i dz_i``,
    smallest at ``s = <G, dz> / sum_i omega_i dz_i^T H_i dz_i``. The
    per-coordinate caps keep each coordinate within its own Newton step; this
    keeps the moves of many coordinates together from overshooting, which
    summed per-sample rates otherwise do at the start of a fit.
    """
    dz = X_c @ step_W
    dz += step_b
    with np.errstate(divide="ignore", invalid="ignore"):
        unweighted = np.where(omega[:, np.newaxis] > 0, G / omega[:, np.newaxis], 0.0)
    curvature = float(omega @ loss.curvature_along(unweighted, y, dz))
    descent = float(np.einsum("ij,ij->", G, dz))
    if descent >= curvature:
        return 1.0
    return descent / curvature
