"""Process-wide malloc settings: flat_malloc puts back what was in effect, even on errors."""

from __future__ import annotations

import pytest

from pawpularity import runtime


def test_flat_malloc_restores_the_tuned_heap() -> None:
    if not runtime.tune_malloc():
        pytest.skip("not glibc")
    with pytest.raises(RuntimeError), runtime.flat_malloc():
        assert not runtime._tuned
        raise RuntimeError
    assert runtime._tuned
    with runtime.flat_malloc(active=False):
        assert runtime._tuned
    runtime.untune_malloc()
    with runtime.flat_malloc():
        pass
    assert not runtime._tuned
    runtime.tune_malloc()  # as the test session runs (conftest)
