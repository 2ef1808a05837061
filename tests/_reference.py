"""Explicit, unoptimised computations the package is tested against."""

import numpy as np
from scipy.special import expit, logsumexp


def objective(coef, intercept, X, y_index, sample_weight, alpha, l1_ratio=0.0):
    """J(W, b) written out: weighted mean cross-entropy plus the elastic net.

    ``coef`` has the estimator's shape: (1, n_features) for a binary model,
    (n_classes, n_features) for a multinomial one.
    """
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    scores = X @ coef.T + intercept
    if coef.shape[0] == 1:
        z = scores[:, 0]
        y_hat = expit(z)
        ce = -(y_index * np.log(y_hat) + (1 - y_index) * np.log1p(-y_hat))
    else:
        ce = logsumexp(scores, axis=1) - scores[np.arange(len(y_index)), y_index]
    penalty = l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * (coef**2).sum()
    return sample_weight @ ce / sample_weight.sum() + alpha * penalty


def soft_threshold(v, amount):
    return np.sign(v) * np.maximum(np.abs(v) - amount, 0.0)


def toward_zero(W, entitled, received):
    """Tsuruoka et al.'s cumulative L1 step: each weight moves toward 0, not
    past it, by the L1 charged to it (``entitled``) less what it received
    (``received``, the signed moves so far)."""
    down = np.maximum(W - np.maximum(entitled + received, 0), 0)
    up = np.minimum(W + np.maximum(entitled - received, 0), 0)
    return np.where(W > 0, down, np.where(W < 0, up, W))


def summed_rate(rate, t, m):
    """The rates of samples ``t .. t + m``: ``rate(k)`` for each whole sample
    k, and the covered fraction of it for a sample a batch covers in part."""
    total, position, end = 0.0, t, t + m
    while position < end:
        k = np.floor(position)
        step_end = min(k + 1, end)
        total += (step_end - position) * rate(k)
        position = step_end
    return total


def minibatch_descent(
    X,
    y_index,
    sample_weight,
    n_outputs,
    *,
    alpha,
    l1_ratio,
    rate,
    batch_size,
    n_epochs,
    fit_intercept=True,
    adagrad_eta0=None,
    init=None,
):
    """The update rule of docs/derivation.md, eagerly, on dense arrays.

    Per-coordinate Newton caps, then damping of the whole step to a Newton
    step of the batch loss along it, then the prox.

    Every weight is shrunk and moved by its L1 at every step (no scale
    factor, no owed penalty; the cumulative penalty of the shared-rate
    schedules, the prox of AdaGrad's), rows of non-zero weight are visited in order, and each
    iterate is kept so that averages can be checked. With ``adagrad_eta0`` the rates are
    AdaGrad's per feature, ``eta0 / sqrt(sum of squared row gradients)``.
    ``init``: the (coef, intercept) to start from, in the estimator's shapes;
    zeros by default.

    Returns
    -------
    coef : ndarray of shape (n_outputs, n_features)
    intercept : ndarray of shape (n_outputs,)
    iterates : list of (samples_in_step, coef, intercept)
    t : float
    """
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=float)
    # Rows of weight 0 are absent: they take no place in a batch.
    kept = sample_weight != 0
    X, y_index, sample_weight = X[kept], y_index[kept], sample_weight[kept]
    n_samples, n_features = X.shape
    c = 0.25 if n_outputs == 1 else 0.5
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    W = np.zeros((n_features, n_outputs))
    b = np.zeros(n_outputs)
    if init is not None:
        W, b = np.array(init[0], dtype=float).T, np.array(init[1], dtype=float)
    t = 1.0
    iterates = []
    squared_sum = np.zeros(n_features)
    intercept_squared_sum = np.zeros(n_outputs)
    entitled = np.zeros((n_features, 1))  # the cumulative L1 penalty's state
    received = np.zeros((n_features, n_outputs))
    for _ in range(n_epochs):
        for start in range(0, n_samples, batch_size):
            rows = slice(start, start + batch_size)
            Xb, yb, sb = X[rows], y_index[rows], sample_weight[rows]
            m = sb.sum()  # samples: a row of weight k counts k times
            if m == 0:
                continue
            w = sb / m
            scores = Xb @ W + b
            if n_outputs == 1:
                residual = (expit(scores[:, 0]) - yb)[:, None]
            else:
                p = np.exp(scores - logsumexp(scores, axis=1, keepdims=True))
                residual = p - np.eye(n_outputs)[yb]
            G = residual * w[:, None]
            grad_W, grad_b = Xb.T @ G, G.sum(axis=0)
            if adagrad_eta0 is None:
                eta = summed_rate(rate, t, m)
                eta_b = eta
            else:
                squared_sum += (grad_W**2).sum(axis=1)
                intercept_squared_sum += grad_b**2
                with np.errstate(divide="ignore"):
                    eta = np.where(
                        squared_sum > 0, adagrad_eta0 / np.sqrt(squared_sum), 0
                    )
                    eta_b = adagrad_eta0 / np.sqrt(intercept_squared_sum)
            with np.errstate(divide="ignore"):
                eta_j = np.minimum(eta, 1 / (c * (Xb**2).T @ w))[:, None]
            eta_b = np.minimum(eta_b, 1 / (c * w.sum())) if fit_intercept else 0.0
            # Damping: the minimiser of the quadratic bound along the step.
            dz = Xb @ (eta_j * grad_W) + eta_b * grad_b
            if n_outputs == 1:
                p = expit(scores)
                quadratic = (p * (1 - p) * dz**2)[:, 0]
            else:
                quadratic = (p * dz**2).sum(axis=1) - (p * dz).sum(axis=1) ** 2
            fraction = min(1.0, np.sum(G * dz) / (w @ quadratic))
            if adagrad_eta0 is None:
                eta_j, eta_b = fraction * eta_j, fraction * eta_b
            else:
                # AdaGrad damps the touched features only: an untouched
                # one's penalty steps keep its own rate (paid lazily).
                touched = (Xb != 0).any(axis=0)[:, None]
                eta_j = np.where(touched, fraction * eta_j, eta_j)
                eta_b = fraction * eta_b
            if adagrad_eta0 is None:
                # The charges and moves shrink with the weights (the solver
                # keeps them in units of V), by the shared rate's L2 factor.
                shrink = 1 + fraction * eta * l2
                entitled, received = entitled / shrink, received / shrink
                W = (W - eta_j * grad_W) / (1 + eta_j * l2)
                entitled = entitled + eta_j * l1 / (1 + eta_j * l2)
                moved = toward_zero(W, entitled, received)
                received = received + (moved - W)
                W = moved
            else:
                W = soft_threshold(W - eta_j * grad_W, eta_j * l1) / (1 + eta_j * l2)
            b = b - eta_b * grad_b
            t += m
            iterates.append((m, W.T.copy(), b.copy()))
    return W.T, b, iterates, t
