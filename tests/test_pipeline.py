"""In a text Pipeline under GridSearchCV, with sample_weight routed."""

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_task


def _texts(n=1500):
    texts, y = debian_task("binary")
    rng = np.random.default_rng(0)
    keep = rng.choice(len(texts), size=n, replace=False)
    return [texts[i] for i in keep], y[keep]


def _pipeline(**params):
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(min_df=2)),
            ("clf", SGDLogisticRegression(random_state=0, **params)),
        ]
    )


def test_grid_search_over_a_text_pipeline_with_routed_sample_weight():
    texts, y = _texts()
    # Half the documents weigh nothing: a routed weight changes the model.
    sample_weight = (np.arange(len(y)) % 2).astype(float)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = _pipeline()
        pipe["clf"].set_fit_request(sample_weight=True)
        # An explicit scorer asks for the weights in every scikit-learn >= 1.6.
        weighted_accuracy = make_scorer(accuracy_score).set_score_request(
            sample_weight=True
        )
        search = GridSearchCV(
            pipe,
            {"clf__alpha": [1e-5, 1e-4], "clf__batch_size": [64, 512]},
            cv=3,
            scoring=weighted_accuracy,
        )
        search.fit(texts, y, sample_weight=sample_weight)
    best = search.best_estimator_["clf"]
    assert search.best_score_ > 0.8
    chosen = dict(alpha=best.alpha, batch_size=best.batch_size)

    direct = _pipeline(**chosen).fit(texts, y, clf__sample_weight=sample_weight)
    np.testing.assert_allclose(best.coef_, direct["clf"].coef_)
    unweighted = _pipeline(**chosen).fit(texts, y)
    assert not np.allclose(best.coef_, unweighted["clf"].coef_)
