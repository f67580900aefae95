import json

import numpy as np
import pytest
import scipy.sparse as sp

from sae_core.cli import main


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, clusters):
    root = tmp_path_factory.mktemp("cli")
    np.save(root / "x.npy", clusters)
    assert (
        main(
            [
                "train",
                "--data",
                str(root / "x.npy"),
                "--hidden",
                "128",
                "--k",
                "8",
                "--epochs",
                "3",
                "--batch-size",
                "256",
                "--holdout",
                "100",
                "--out",
                str(root / "model"),
                "--quiet",
                "--json",
                str(root / "train.json"),
            ]
        )
        == 0
    )
    return root


def test_train_writes_model_and_summary(workspace):
    summary = json.loads((workspace / "train.json").read_text())
    assert summary["trained_rows"] == 2900 and summary["held_out_rows"] == 100
    for name in ("model.safetensors", "config.json", "fingerprint.txt", "training.json"):
        assert (workspace / "model" / name).is_file()


def test_encode_writes_csr_npz(workspace):
    out = workspace / "codes.npz"
    assert (
        main(
            [
                "encode",
                "--model",
                str(workspace / "model"),
                "--data",
                str(workspace / "x.npy"),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    codes = sp.load_npz(out)
    assert codes.format == "csr" and codes.shape == (3000, 128)


def test_eval_uses_held_out_rows_and_writes_required_keys(workspace, capsys):
    report_path = workspace / "report.json"
    assert (
        main(
            [
                "eval",
                "--model",
                str(workspace / "model"),
                "--data",
                str(workspace / "x.npy"),
                "--queries",
                "50",
                "--baselines",
                "pca_int8",
                "sign_1bit",
                "--quiet",
                "--json",
                str(report_path),
            ]
        )
        == 0
    )
    report = json.loads(report_path.read_text())
    assert report["query_source"].startswith("rows held out")
    assert {"recall_at_10", "bytes_per_vector", "compression_ratio", "baselines"} <= set(report)
    assert set(report["baselines"]["pca_int8"]) >= {"recall_at_10", "bytes_per_vector"}
    assert "recall@10" in capsys.readouterr().out


def test_eval_on_other_data_samples_queries(workspace, clusters):
    np.save(workspace / "other.npy", clusters[::-1])
    assert (
        main(
            [
                "eval",
                "--model",
                str(workspace / "model"),
                "--data",
                str(workspace / "other.npy"),
                "--queries",
                "20",
                "--baselines",
                "pca_int8",
                "--quiet",
                "--json",
                str(workspace / "other.json"),
            ]
        )
        == 0
    )
    assert json.loads((workspace / "other.json").read_text())["query_source"].startswith("sampled rows")


def test_bad_input_fails_cleanly_and_writes_nothing(workspace, capsys):
    bad = workspace / "bad.npy"
    x = np.ones((20, 32), dtype=np.float32)
    x[3, 1] = np.nan
    np.save(bad, x)
    assert main(["train", "--data", str(bad), "--out", str(workspace / "nomodel"), "--quiet"]) == 2
    assert not (workspace / "nomodel").exists()
    assert (
        main(
            [
                "encode",
                "--model",
                str(workspace / "model"),
                "--data",
                str(bad),
                "--out",
                str(workspace / "bad.npz"),
                "--quiet",
            ]
        )
        == 2
    )
    assert not (workspace / "bad.npz").exists()
    assert "NaN or inf" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--data",
                str(workspace / "x.npy"),
                "--hidden",
                "8",
                "--k",
                "9",
                "--out",
                str(workspace / "nomodel"),
                "--quiet",
            ]
        )
        == 2
    )
    assert "must not exceed" in capsys.readouterr().err
    assert (
        main(
            [
                "eval",
                "--model",
                str(workspace / "model"),
                "--data",
                str(workspace / "x.npy"),
                "--queries",
                "5000",
                "--quiet",
            ]
        )
        == 2
    )


def test_train_rows_samples_a_subset(workspace):
    out = workspace / "subset"
    assert (
        main(
            [
                "train",
                "--data",
                str(workspace / "x.npy"),
                "--hidden",
                "64",
                "--k",
                "4",
                "--epochs",
                "1",
                "--holdout",
                "100",
                "--train-rows",
                "500",
                "--out",
                str(out),
                "--quiet",
                "--json",
                str(out / "train.json"),
            ]
        )
        == 0
    )
    assert json.loads((out / "train.json").read_text())["trained_rows"] == 500
    assert (
        main(
            [
                "train",
                "--data",
                str(workspace / "x.npy"),
                "--train-rows",
                "2901",
                "--holdout",
                "100",
                "--out",
                str(workspace / "none"),
                "--quiet",
            ]
        )
        == 2
    )
