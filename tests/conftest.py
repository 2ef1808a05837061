"""Fixtures shared by the test modules.

Those of Dask need the optional ``[dask]`` extra: a test that asks for one
skips without it.
"""

import os

import pytest


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory):
    """A ``distributed.LocalCluster`` of two single-threaded worker processes.

    One for the whole test run, started by the first test that asks for it
    (a few seconds) and closed after the last test. Worker processes, not
    threads, so that every model and chunk a task receives has crossed a
    process boundary by pickle, as on a real cluster.

    The workers are spawned with the test process's ``sys.path`` and so
    import ``sklearn_sgdlogreg`` from where it does: the source tree from
    the repository root, the installed copy from elsewhere. The fixture
    checks that, so that no test runs against another copy.
    """
    distributed = pytest.importorskip("distributed")

    def package_file():  # defined here so that it is pickled by value
        import sklearn_sgdlogreg

        return os.path.realpath(sklearn_sgdlogreg.__file__)

    ours = package_file()

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # The scheduler serves its HTTP routes (health, metrics) without a
        # dashboard too, on port 8787 unless told otherwise: any free port,
        # so that another cluster on the machine does not make it warn.
        scheduler_kwargs={"dashboard_address": ":0"},
        local_directory=tmp_path_factory.mktemp("dask-worker-space"),
    ) as cluster:
        with distributed.Client(cluster, set_as_default=False) as client:
            imported = client.run(package_file)
        elsewhere = {worker: path for worker, path in imported.items() if path != ours}
        if elsewhere:
            pytest.fail(
                f"Dask workers import sklearn_sgdlogreg from {elsewhere}, "
                f"not from {ours} as the tests do."
            )
        yield cluster


@pytest.fixture
def dask_client(dask_cluster):
    """A ``distributed.Client`` of the test run's cluster, for one test.

    It is Dask's default scheduler (and joblib's ``"dask"`` backend's
    client) during that test only: a computation in any other test runs as
    it would without it.
    """
    distributed = pytest.importorskip("distributed")
    with distributed.Client(dask_cluster) as client:
        yield client
