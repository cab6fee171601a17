"""The insight tests train tiny models: one BLAS thread is fastest for their small matrices
(and keeps them quick when the machine is shared)."""

import pytest


@pytest.fixture(autouse=True)
def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # dev dependency; without it the tests only run slower
        yield
        return
    with threadpool_limits(1):
        yield
