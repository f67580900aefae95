"""Fitting a TopK SAE on precomputed embeddings: mini-batches from a (memory-mapped) array, Adam,
warm-up then cosine decay, decoder rows renormalised after each step, per-epoch checkpoints."""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import trange

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.dictionary import refine_decoder, system_dtype
from saevdb.sae_core.losses import (
    auxk_loss,
    cosine_loss,
    first_stage_loss,
    similarity_distillation_loss,
    sparse_decode,
)
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.refit import least_squares_values
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.topk import topk_codes
from saevdb.sae_core.validation import check_embeddings

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
TOP_NEIGHBOURS = 10  # the neighbours a mined batch draws from: the top-10 a two-stage search must find


@dataclass(frozen=True)
class TrainConfig:
    """Schedule and loss weights (the README's benchmarks record how the defaults were chosen).
    The comment after each field is its `saevdb train --help` text."""

    epochs: int = 20  # passes over the training rows; fewer for a quick model, more on small data
    batch_size: int = 1024  # rows per Adam step
    lr: float = 1e-3  # peak learning rate, after warm-up, before cosine decay
    warmup_fraction: float = 0.05  # share of the steps spent warming the learning rate up
    refit_weight: float = 1.0  # weight of the loss on least-squares values, so the decoder fits them
    multi_topk_factor: int = 4  # Multi-TopK: also reconstruct from this many times k latents
    multi_topk_weight: float = 1 / 8  # weight of that Multi-TopK term
    auxk_weight: float = 1 / 32  # weight of AuxK, which revives dead latents
    k_aux: int = 256  # latents AuxK reconstructs the residual with
    dead_after_samples: int = 200_000  # a latent unused for this many rows counts as dead
    decoder_rounds: int = 3  # closed-form decoder refits to the stored codes after SGD (0: none)
    distill_weight: float = 0.0  # weight of in-batch similarity distillation (0: off)
    teacher_temperature: float = 0.05  # softmax temperature of the dense similarities distilled
    student_temperature: float = 0.05  # softmax temperature of the code similarities
    first_stage_weight: float = 0.0  # weight of first-stage distillation: cut queries against codes (0: off)
    first_stage_query_k: int = 128  # query weights kept in that term, as a two-stage search sends them
    mined_neighbours: int = 0  # rows of each anchor's exact top-10 put in its batch (0: random batches)
    seed: int = 0  # seeds the held-out split, the sampled rows and the weights
    threads: int = 0  # CPU threads torch trains with (0: its default, one per core); the weights depend on it
    max_memory: int = 2048  # MB the decoder refit's h x h system may take (float64 where it fits, else float32)
    device: str = "cpu"  # cpu, cuda, cuda:1, ...


@dataclass
class TrainResult:
    """What a run reports: final mean losses of the last epoch (0 for a term that is off), the
    dead-latent fraction and the reconstruction cosine of the training rows' codes before each decoder round."""

    epochs_run: int
    reconstruction_loss: float
    distill_loss: float
    dead_fraction: float
    decoder_cosines: list[float] = field(default_factory=list)
    first_stage_loss: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


def _batch(x: np.ndarray, rows: np.ndarray, device: str) -> torch.Tensor:
    # Sorted reads are sequential-ish on a memory-mapped file; order inside a batch does not matter.
    return torch.from_numpy(np.ascontiguousarray(x[np.sort(rows)], dtype=np.float32)).to(device)


def _batch_positions(perm: np.ndarray, step: int, batch: int, neighbours: np.ndarray | None) -> np.ndarray:
    """Positions (in the training rows) of batch `step` of an epoch whose order is `perm`: `batch`
    of them, or, with `neighbours [n, m]` (positions of m of each row's exact top-10), `batch // (1 + m)`
    anchors and all m of each one's, duplicates dropped. Random batches rarely hold a row's true
    neighbours (1,024 of 20,000 rows hold about one of its top-20), so a loss on the top of each
    row's ranking needs them put there."""
    if neighbours is None:
        return perm[step * batch : (step + 1) * batch]
    anchors = batch // (1 + neighbours.shape[1])
    chosen = perm[step * anchors : (step + 1) * anchors]
    return np.unique(np.concatenate([chosen, neighbours[chosen].ravel()]))


def _mined_neighbours(x: np.ndarray, rows: np.ndarray, m: int, seed: int) -> np.ndarray:
    """`[n, m]` positions: for each training row, m of its exact top-10 among the training rows
    (itself excluded), drawn without replacement with `seed`. An exact search, O(n² d) once before
    the first epoch: meant for the samples `advise` trains on, not for millions of rows."""
    xs = np.asarray(x[rows], dtype=np.float32)
    xs /= np.maximum(np.linalg.norm(xs, axis=1, keepdims=True), 1e-12)
    top, _ = exact_topk(xs, xs, TOP_NEIGHBOURS, exclude=np.arange(rows.size))
    pick = np.random.default_rng(seed).random(top.shape).argsort(axis=1)[:, :m]
    return np.take_along_axis(top, pick, axis=1)


def _step_losses(model: SparseAutoencoder, x: torch.Tensor, cfg: TrainConfig) -> tuple[torch.Tensor, dict]:
    """One batch `[n, d]` → (total loss, {term: loss} of the reported terms that are on); updates
    firing statistics."""
    sae = model.config
    xn = model.preprocess(x)
    pre = model.encoder(xn - model.pre_bias)
    idx, values = topk_codes(pre, sae.k, sae.signed)
    x_hat = sparse_decode(idx, values, model.decoder, model.pre_bias)
    recon = cosine_loss(x_hat, xn)
    total, stored = recon, values
    if sae.refit and cfg.refit_weight:
        # The stored values are least-squares ones: train the decoder for them too.
        stored = least_squares_values(idx, xn - model.pre_bias, model.decoder, nonneg=not sae.signed)
        recon = cosine_loss(sparse_decode(idx, stored, model.decoder, model.pre_bias), xn)
        total = total + cfg.refit_weight * recon
    k_wide = min(sae.h, sae.k * cfg.multi_topk_factor)
    if cfg.multi_topk_weight and k_wide > sae.k:
        idx_w, val_w = topk_codes(pre, k_wide, sae.signed)
        total = total + cfg.multi_topk_weight * cosine_loss(
            sparse_decode(idx_w, val_w, model.decoder, model.pre_bias), xn
        )
    with torch.no_grad():
        fired = torch.zeros(sae.h, dtype=torch.bool, device=x.device)
        fired[idx[values != 0]] = True
        model.samples_since_fired.add_(x.shape[0]).masked_fill_(fired, 0)
    if cfg.auxk_weight:
        dead = model.samples_since_fired > cfg.dead_after_samples
        residual = (xn - x_hat).detach()
        total = total + cfg.auxk_weight * auxk_loss(pre, residual, dead, cfg.k_aux, model.decoder)
    terms = {"reconstruction": recon}
    if cfg.distill_weight:
        codes = torch.zeros_like(pre).scatter(-1, idx, values)
        terms["distill"] = similarity_distillation_loss(xn, codes, cfg.teacher_temperature, cfg.student_temperature)
        total = total + cfg.distill_weight * terms["distill"]
    if cfg.first_stage_weight:
        if sae.cosine_values:
            length = sparse_decode(idx, stored, model.decoder, model.pre_bias).norm(dim=-1, keepdim=True)
            stored = stored / length.clamp_min(1e-12)
        codes = torch.zeros_like(pre).scatter(-1, idx, stored)
        terms["first_stage"] = first_stage_loss(
            xn, codes, model.decoder, cfg.first_stage_query_k, cfg.teacher_temperature, cfg.student_temperature
        )
        total = total + cfg.first_stage_weight * terms["first_stage"]
    return total, terms


def fit(
    model: SparseAutoencoder,
    x: np.ndarray,
    config: TrainConfig | None = None,
    checkpoint_dir: str | Path | None = None,
    show_progress_bar: bool | None = None,
    rows: np.ndarray | None = None,
) -> TrainResult:
    """Train `model` in place on rows of `x [n, d]` (an array or `np.load(..., mmap_mode="r")`).

    `rows` restricts training to those row numbers (e.g. all but held-out queries) without copying.

    With `checkpoint_dir`, state is saved after every epoch and a later call with the same
    directory resumes where the last one stopped; the seed fixes batch order per epoch, so a resumed
    run sees the same batches as an uninterrupted one.
    """
    cfg = config or TrainConfig()
    x = check_embeddings(x, model.config.d, name="training data")
    rows = np.arange(x.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    if rows.size < 2:
        raise ValueError("training data needs at least 2 rows")
    with _deterministic(cfg.threads):
        return _fit(model, x, rows, cfg, checkpoint_dir, show_progress_bar)


@contextmanager
def _deterministic(threads: int):
    """Deterministic torch kernels and `threads` CPU threads while training, restored after. A CPU
    matrix product splits its sums over the threads, so 1, 2 and 4 threads give three different
    models from the same seed (the README says so); a fixed count gives
    the same one on a rerun. `warn_only`: CUDA ops without a deterministic kernel warn, not fail."""
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads or before[0])
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])


def _fit(model, x, rows, cfg: TrainConfig, checkpoint_dir, show_progress_bar) -> TrainResult:
    """`fit` under `_deterministic`, its inputs checked."""
    if cfg.decoder_rounds:
        system_dtype(model.config.h, cfg.max_memory << 20)  # a budget too small is refused before training
    torch.manual_seed(cfg.seed)
    model.to(cfg.device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    batch = min(cfg.batch_size, rows.size)
    steps_per_epoch = rows.size // batch
    total_steps = steps_per_epoch * cfg.epochs
    warmup = max(1, int(cfg.warmup_fraction * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, total_steps, warmup))
    start_epoch = 0
    ckpt = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=cfg.device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"]
        logger.info("resuming from %s at epoch %d", ckpt, start_epoch)
    if show_progress_bar is None:
        show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
    neighbours = _mined_neighbours(x, rows, cfg.mined_neighbours, cfg.seed) if cfg.mined_neighbours else None
    sums: dict[str, float] = {}
    for epoch in trange(start_epoch, cfg.epochs, desc="Epochs", disable=not show_progress_bar):
        perm = np.random.default_rng(cfg.seed + epoch).permutation(rows.size)
        sums = {}
        for step in range(steps_per_epoch):
            xb = _batch(x, rows[_batch_positions(perm, step, batch, neighbours)], cfg.device)
            total, terms = _step_losses(model, xb, cfg)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            scheduler.step()
            model.unit_norm_decoder_()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value.item()
        logger.info("epoch %d: %s", epoch, " ".join(f"{k} {v / steps_per_epoch:.4f}" for k, v in sums.items()))
        if ckpt is not None:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch + 1,
                },
                ckpt,
            )
    model.eval()
    done = max(1, steps_per_epoch)
    dead = dead_fraction(model, cfg.dead_after_samples)
    # After the last checkpoint: a resumed run repeats these rounds from the same SGD decoder.
    cosines = []
    if cfg.decoder_rounds:
        cosines = refine_decoder(
            model, x, rows, cfg.decoder_rounds, show_progress_bar=show_progress_bar, max_memory=cfg.max_memory << 20
        )
    return TrainResult(
        epochs_run=cfg.epochs - start_epoch,
        reconstruction_loss=sums.get("reconstruction", 0.0) / done,
        distill_loss=sums.get("distill", 0.0) / done,
        first_stage_loss=sums.get("first_stage", 0.0) / done,
        dead_fraction=dead,
        decoder_cosines=cosines,
    )


def dead_fraction(model: SparseAutoencoder, after_samples: int) -> float:
    """Share of latents that have not fired in the last `after_samples` training samples."""
    return float((model.samples_since_fired > after_samples).float().mean())


def build_and_fit(
    x: np.ndarray, sae: SAEConfig, train: TrainConfig | None = None, **kwargs
) -> tuple[SparseAutoencoder, TrainResult]:
    """Create a model for `sae` and fit it; `kwargs` go to `fit`."""
    torch.manual_seed((train or TrainConfig()).seed)
    model = SparseAutoencoder(sae)
    return model, fit(model, x, train, **kwargs)
