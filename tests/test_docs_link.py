"""The HTML repr links the estimator to its page in the API reference."""

from sklearn_sgdlogreg import SGDLogisticRegression

API_PAGE = (
    "https://sklearn-sgdlogreg.readthedocs.io/en/latest/api/generated/"
    "sklearn_sgdlogreg.SGDLogisticRegression.html"
)


def test_doc_link_is_the_api_page():
    assert SGDLogisticRegression()._get_doc_link() == API_PAGE


def test_html_repr_links_the_api_page():
    html = SGDLogisticRegression(alpha=1e-6)._repr_html_()
    assert f'href="{API_PAGE}"' in html
