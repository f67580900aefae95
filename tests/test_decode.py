import dataclasses

import numpy as np
import torch

from saevdb.sae_core.decode import rerank_vectors
from saevdb.sae_core.encode import encode


def test_rerank_vectors_are_the_reconstructions_directions(trained, clusters):
    codes = encode(trained, clusters[:200], show_progress_bar=False)
    vectors = rerank_vectors(trained, codes)
    with torch.no_grad():
        decoded = trained.decode(torch.from_numpy(codes.toarray())).numpy()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)
    cosines = (vectors * decoded).sum(1) / np.linalg.norm(decoded, axis=1)
    np.testing.assert_allclose(cosines, 1, rtol=1e-5)


def test_a_model_of_raw_inputs_keeps_the_reconstructions(trained, clusters):
    raw = type(trained)(dataclasses.replace(trained.config, normalize=False))
    raw.load_state_dict(trained.state_dict())
    codes = encode(raw, clusters[:50], show_progress_bar=False)
    with torch.no_grad():
        decoded = raw.decode(torch.from_numpy(codes.toarray())).numpy()
    np.testing.assert_allclose(rerank_vectors(raw, codes), decoded, rtol=1e-5, atol=1e-6)
