"""The whole-batch checks every adapter runs before it sends anything (no engine involved)."""

import numpy as np
import pytest
import scipy.sparse as sp

from saevdb.adapters import UnsupportedFeatureError
from saevdb.adapters.batches import (
    check_batch,
    check_datatype,
    check_dense_batch,
    check_queries,
    pad_results,
    rows_to_csr,
)


def _codes(n=3, h=8) -> sp.csr_matrix:
    return sp.random(n, h, density=0.4, format="csr", random_state=0, dtype=np.float32)


@pytest.mark.parametrize(
    "ids, message",
    [
        ([1, 1, 2], "duplicate ids"),
        ([1, -2, 3], "non-negative"),
        (["a", "b", "c"], "non-negative"),
        ([1, 2], "ids for 3"),
    ],
)
def test_bad_ids_are_refused(ids, message):
    with pytest.raises(ValueError, match=message):
        check_batch(ids, _codes(), 8, None, nonneg=False)


def test_codes_are_checked_whole():
    codes = _codes()
    with pytest.raises(ValueError, match="width"):
        check_batch([0, 1, 2], codes, 9, None, nonneg=False)
    bad = codes.copy()
    bad.data[-1] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        check_batch([0, 1, 2], bad, 8, None, nonneg=False)
    negative = codes.copy()
    negative.data[0] = -1
    with pytest.raises(UnsupportedFeatureError, match="non-negative"):
        check_batch([0, 1, 2], negative, 8, None, nonneg=True)
    with pytest.raises(ValueError, match="uint8"):
        check_batch([0, 1, 2], codes, 8, None, nonneg=False, uint8=True)
    with pytest.raises(ValueError, match="2 payloads for 3"):
        check_batch([0, 1, 2], codes, 8, [{}, {}], nonneg=False)
    with pytest.raises(ValueError, match="scipy sparse"):
        check_batch([0, 1, 2], codes.toarray(), 8, None, nonneg=False)


def test_a_good_batch_comes_back_sorted_float32():
    ids, codes = check_batch(np.array([5, 3, 9], dtype=np.int32), _codes(), 8, None, nonneg=True)
    assert ids.dtype == np.int64 and codes.dtype == np.float32 and codes.has_sorted_indices


def test_dense_batches_and_queries():
    with pytest.raises(ValueError, match="NaN or inf"):
        check_dense_batch([0, 1], np.array([[0.0, np.nan], [1.0, 2.0]]), 2, None)
    ids, vectors = check_dense_batch([0, 1], np.ones((2, 2), dtype=np.float64), 2, None)
    assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
    with pytest.raises(UnsupportedFeatureError):
        check_queries(sp.csr_matrix(-np.ones((1, 8), dtype=np.float32)), 8, nonneg=True)
    with pytest.raises(ValueError, match="width"):
        check_queries(_codes(1, 7), 8, nonneg=False)


def test_datatype_outside_the_engines_precisions_is_refused():
    assert check_datatype("float16", ("float32", "float16")) == "float16"
    with pytest.raises(UnsupportedFeatureError, match="float32"):
        check_datatype("uint8", ("float32",))


def test_hits_are_padded_and_rows_read_back_in_order():
    ids, scores = pad_results([[(4, 0.5), (2, 0.25)], []], 3)
    np.testing.assert_array_equal(ids, [[4, 2, -1], [-1, -1, -1]])
    assert np.isneginf(scores[0, 2]) and scores.dtype == np.float32
    back = rows_to_csr([7, 3, 1], {3: ([5, 1], [2.0, 1.0]), 7: ([0], [9.0])}, 8)
    np.testing.assert_array_equal(back.toarray()[:, [0, 1, 5]], [[9, 0, 0], [0, 1, 2], [0, 0, 0]])
    assert back.has_sorted_indices
