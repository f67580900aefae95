import json
import shlex

import numpy as np
import pytest
import scipy.sparse as sp

from saevdb.cli import main


def saevdb(command: str) -> int:
    """Run one CLI invocation, written as a user would type it."""
    return main(shlex.split(command))


def eval_report(ws, options: str, name: str) -> dict:
    """Run `saevdb eval` with these options, quietly, and return the JSON report it wrote."""
    assert saevdb(f"eval {options} --quiet --json {ws}/{name}") == 0
    return json.loads((ws / name).read_text())


@pytest.fixture(scope="module")
def ws(tmp_path_factory, clusters):
    root = tmp_path_factory.mktemp("cli")
    np.save(root / "x.npy", clusters)
    code = saevdb(
        f"train --data {root}/x.npy --hidden 128 --k 8 --epochs 3 --batch-size 256 --holdout 100 "
        f"--out {root}/model --quiet --json {root}/train.json"
    )
    assert code == 0
    return root


def test_train_writes_model_and_summary(ws):
    summary = json.loads((ws / "train.json").read_text())
    assert summary["trained_rows"] == 2900 and summary["held_out_rows"] == 100
    for name in ("model.safetensors", "config.json", "fingerprint.txt", "training.json"):
        assert (ws / "model" / name).is_file()


def test_encode_writes_csr_npz(ws):
    assert saevdb(f"encode --model {ws}/model --data {ws}/x.npy --out {ws}/codes.npz --quiet") == 0
    codes = sp.load_npz(ws / "codes.npz")
    assert codes.format == "csr" and codes.shape == (3000, 128)


def test_eval_uses_held_out_rows_and_writes_required_keys(ws, capsys):
    report = eval_report(
        ws, f"--model {ws}/model --data {ws}/x.npy --queries 50 --baselines pca_int8 sign_1bit", "report.json"
    )
    assert report["query_source"].startswith("rows held out")
    assert {"recall_at_10", "bytes_per_vector", "compression_ratio", "baselines"} <= set(report)
    assert set(report["baselines"]["pca_int8"]) >= {"recall_at_10", "bytes_per_vector"}
    assert "recall@10" in capsys.readouterr().out


def test_eval_can_measure_pursuit_on_a_topk_model(ws):
    report = eval_report(
        ws, f"--model {ws}/model --data {ws}/x.npy --queries 50 --baselines --support pursuit", "pursuit.json"
    )
    assert report["model"]["support"] == "pursuit"
    assert json.loads((ws / "model" / "config.json").read_text()).get("support") is None  # nothing saved
    steps = f"--model {ws}/model --data {ws}/x.npy --queries 50 --baselines --support pursuit --pursuit-steps 1"
    assert eval_report(ws, steps, "steps.json")["model"]["pursuit_steps"] == 1


def test_wordnet_by_name_and_by_path_is_the_same_data(ws, monkeypatch):
    monkeypatch.setenv("SAEVDB_WORDNET", str(ws / "x.npy"))  # a stand-in file, not the real set
    assert saevdb(f"train --data wordnet --hidden 64 --k 4 --epochs 1 --holdout 100 --out {ws}/wn --quiet") == 0
    report = eval_report(
        ws, f"--model {ws}/wn --data {ws}/x.npy --queries 20 --baselines --value-dtype uint8", "wn.json"
    )
    assert report["query_source"].startswith("rows held out") and report["bytes_per_vector"] == 12


def test_eval_on_other_data_samples_queries(ws, clusters):
    np.save(ws / "other.npy", clusters[::-1])
    report = eval_report(ws, f"--model {ws}/model --data {ws}/other.npy --queries 20 --baselines", "other.json")
    assert report["query_source"].startswith("sampled rows") and report["baselines"] == {}


def test_train_rows_samples_a_subset(ws):
    assert (
        saevdb(
            f"train --data {ws}/x.npy --hidden 64 --k 4 --epochs 1 --holdout 100 --train-rows 500 "
            f"--out {ws}/subset --quiet --json {ws}/subset/train.json"
        )
        == 0
    )
    assert json.loads((ws / "subset" / "train.json").read_text())["trained_rows"] == 500


def test_bad_input_fails_cleanly_and_writes_nothing(ws, capsys):
    x = np.ones((20, 32), dtype=np.float32)
    x[3, 1] = np.nan
    np.save(ws / "bad.npy", x)
    assert saevdb(f"train --data {ws}/bad.npy --out {ws}/nomodel --quiet") == 2
    assert saevdb(f"encode --model {ws}/model --data {ws}/bad.npy --out {ws}/bad.npz --quiet") == 2
    assert "NaN or inf" in capsys.readouterr().err
    assert saevdb(f"train --data {ws}/x.npy --hidden 8 --k 9 --out {ws}/nomodel --quiet") == 2
    assert "must not exceed" in capsys.readouterr().err
    assert saevdb(f"train --data {ws}/x.npy --train-rows 2901 --holdout 100 --out {ws}/nomodel --quiet") == 2
    assert saevdb(f"eval --model {ws}/model --data {ws}/x.npy --queries 5000 --quiet") == 2
    assert not (ws / "nomodel").exists() and not (ws / "bad.npz").exists()


def test_refine_continues_a_pursuit_model_into_a_new_folder(ws):
    assert (
        saevdb(
            f"train --data {ws}/x.npy --hidden 64 --k 4 --epochs 1 --holdout 100 --train-rows 2000 --support pursuit"
            f" --decoder-rounds 1 --out {ws}/pm --quiet"
        )
        == 0
    )
    before = (ws / "pm" / "fingerprint.txt").read_text()
    assert saevdb(f"refine --model {ws}/pm --data {ws}/x.npy --rounds 2 --pursuit-steps 2 --out {ws}/pm2 --quiet") == 0
    record = json.loads((ws / "pm2" / "training.json").read_text())
    assert record["held_out_rows"] == json.loads((ws / "pm" / "training.json").read_text())["held_out_rows"]
    assert record["refined"][0]["from"] == before.strip() and len(record["refined"][0]["cosines"]) == 2
    assert json.loads((ws / "pm2" / "config.json").read_text())["pursuit_steps"] == 2
    assert (ws / "pm" / "fingerprint.txt").read_text() == before  # the source folder is untouched


def test_refine_refuses_zero_rounds_and_writes_nothing(ws, capsys):
    assert saevdb(f"refine --model {ws}/model --data {ws}/x.npy --rounds 0 --out {ws}/nothing --quiet") == 2
    assert "--rounds 0 must be at least 1" in capsys.readouterr().err and not (ws / "nothing").exists()


def test_a_memory_budget_too_small_for_the_decoder_refit_is_refused_before_training(ws, capsys):
    # h=1024 needs 8 MB for its float32 system with the copy its factorisation makes
    assert saevdb(f"train --data {ws}/x.npy --hidden 1024 --k 8 --max-memory 4 --out {ws}/small --quiet") == 2
    err = capsys.readouterr().err
    assert "needs 8 MB" in err and "budget is 4 MB" in err and not (ws / "small").exists()


@pytest.mark.parametrize("backend", ["qdrant", "milvus", "opensearch"])
def test_ingest_of_a_file_the_model_cannot_take_is_refused_before_any_engine_starts(ws, capsys, backend):
    np.save(ws / "narrow.npy", np.ones((50, 31), dtype=np.float32))
    engine = ws / f"engine-{backend}"
    command = f"ingest --model {ws}/model --data {ws}/narrow.npy --backend {backend} --collection c --path {engine}"
    assert saevdb(command + " --quiet") == 2
    assert "narrow.npy: shape (50, 31), expected [n, 32]" in capsys.readouterr().err
    assert not engine.exists()  # no engine folder, so no collection, was made


@pytest.mark.parametrize("command", ["advise", "train", "refine", "encode", "eval", "compare", "ingest"])
def test_help_names_each_value_and_says_each_default_once(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert " None" not in text.replace("(default: None)", "") and "(default: None)" not in text
    assert not any(line.count("default") > 1 for line in " ".join(text.split()).split("--"))
