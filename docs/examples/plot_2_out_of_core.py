"""
Out-of-core text classification with ``partial_fit``
====================================================

A stream of documents too large to hold as one matrix can be learned chunk by
chunk: a :class:`~sklearn.feature_extraction.text.HashingVectorizer` turns
each chunk of raw text into a sparse matrix without a vocabulary fitted in
advance (so nothing has to be seen twice), and ``partial_fit`` takes one
pass over the chunk, keeping the optimiser's state (the step counter, the
owed penalties, the average of the iterates) from one call to the next.

This example streams the Debian package descriptions in chunks of 5,000
into :class:`~sklearn_sgdlogreg.SGDLogisticRegression` and, beside it, into
``SGDClassifier(loss="log_loss")``, at the same ``alpha``, and draws the
held-out log-loss after each chunk.
"""

# %%
# The stream
# ----------
# The corpus file is sorted by package name, which groups related packages
# (all the ``lib...`` packages come together), so the documents are shuffled
# once, as a stream that is not sorted by topic would arrive. 10,000 of them
# are held out to score the models; the other 50,000 or so are the stream.
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import StrMethodFormatter
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_task

texts, sections = debian_task("multiclass")
order = np.random.default_rng(0).permutation(len(texts))
held_out, stream = order[:10_000], order[10_000:]
classes = np.unique(
    sections
)  # partial_fit needs every class on its first call


def chunks(indices, size=5_000):
    """Yield the raw texts and labels of the stream, ``size`` at a time."""
    for start in range(0, len(indices), size):
        rows = indices[start : start + size]
        yield [texts[i] for i in rows], sections[rows]


# %%
# Hashing the words
# -----------------
# ``alternate_sign=False`` keeps the counts non-negative, 2**18 columns make
# collisions rare for this vocabulary, and ``norm="l2"`` scales each document
# to unit length, the scale the default learning rate is bounded for. The
# vectorizer is stateless: ``transform`` needs no ``fit``.
vectorizer = HashingVectorizer(
    n_features=2**18, alternate_sign=False, norm="l2"
)
X_held_out = vectorizer.transform([texts[i] for i in held_out])
y_held_out = sections[held_out]

# %%
# Learning chunk by chunk
# -----------------------
# Each estimator sees each chunk once, in the same order. Besides the default
# model, which averages the iterates from the second call on, the figure
# shows the last iterate (``average=False``).
models = {
    "SGDLogisticRegression()": SGDLogisticRegression(
        alpha=1e-5, random_state=0
    ),
    "SGDLogisticRegression(average=False)": SGDLogisticRegression(
        alpha=1e-5, average=False, random_state=0
    ),
    'SGDClassifier(loss="log_loss")': SGDClassifier(
        loss="log_loss", alpha=1e-5, random_state=0
    ),
}
seen, losses, seconds = (
    [],
    {name: [] for name in models},
    dict.fromkeys(models, 0.0),
)
n_seen = 0
for chunk_texts, chunk_y in chunks(stream):
    X_chunk = vectorizer.transform(chunk_texts)
    n_seen += X_chunk.shape[0]
    seen.append(n_seen)
    for name, model in models.items():
        tic = time.perf_counter()
        model.partial_fit(X_chunk, chunk_y, classes=classes)
        seconds[name] += time.perf_counter() - tic
        proba = model.predict_proba(X_held_out)
        losses[name].append(log_loss(y_held_out, proba, labels=classes))

for name in models:
    print(
        f"{name}: {seconds[name]:.1f} s in partial_fit, held-out log-loss "
        f"after the first chunk {losses[name][0]:.4f}, "
        f"after the last {losses[name][-1]:.4f}"
    )

# %%
# The figure
# ----------
fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
for (name, curve), marker in zip(losses.items(), ["o", "v", "s"]):
    ax.plot(seen, curve, marker=marker, label=name)
ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
ax.set_xlabel("documents seen (chunks of 5,000, each seen once)")
ax.set_ylabel("held-out log-loss (10,000 documents)")
ax.set_title("Debian sections from a hashed stream, 53 classes, alpha=1e-5")
ax.grid(True, alpha=0.3)
ax.legend()
plt.show()

# %%
# What the figure shows
# ---------------------
# All three models improve as the stream goes on (SGDClassifier's
# one-vs-rest model less steadily), and none has levelled off after one pass.
# The default ``average="auto"`` averages the iterates from the second chunk
# on; in a single pass the average still holds the models of the first
# chunks, so it trails the last iterate and ends level with SGDClassifier,
# while the last iterate (``average=False``) ends lowest. On a longer stream,
# or with more passes, the average removes the noise of the steps;
# ``average=False``, or an integer that starts the average later, chooses
# otherwise for a short one.
