"""Shared by the Dask tests: the third-party noise of a cluster that starts and stops inside the test process."""

import pytest

_CLUSTER_NOISE = (
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:.*[Pp]ort.*:UserWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.path).startswith(here):
            for mark in _CLUSTER_NOISE:
                item.add_marker(mark)
