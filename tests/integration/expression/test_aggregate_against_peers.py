"""A group's matrix, joined by gene, quantile-normalised and scaled while streaming, equals
the whole-matrix way: pandas outer join, preprocessCore in R, scikit-learn's scaler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from tests.support.rscript import R_WRITE, read_matrix, run_r, write_matrix
from workers.processors.expression.aggregate import aggregate_groups
from workers.processors.expression.scaling import Scaling
from workers.processors.expression.targets import target_from_files

pytestmark = [pytest.mark.integration, pytest.mark.r]

PEERS = {
    Scaling.NONE: None,
    Scaling.MINMAX: MinMaxScaler,
    Scaling.STANDARD: StandardScaler,
    Scaling.ROBUST: RobustScaler,
}


def _experiments(folder: Path, rng: np.random.Generator) -> list[Path]:
    """Three experiments over overlapping genes, with versions, a duplicate id and gaps."""
    paths = []
    for number, width in enumerate((3, 5, 2)):
        genes = sorted(rng.choice(80, size=60, replace=False))
        ids = [f"ENSG{gene:05d}.{number + 1}" for gene in genes]
        ids[-1] = ids[0].split(".")[0] + ".9"  # the same gene again, another version
        values = rng.choice(rng.gamma(2.0, 20.0, size=15), size=(60, width))  # ties
        values[rng.random(values.shape) < 0.05] = np.nan
        frame = pd.DataFrame(
            values,
            index=pd.Index(ids, name="Gene"),
            columns=[f"E{number}S{i}" for i in range(width)],
        )
        path = folder / f"E{number}.tsv"
        frame.to_csv(path, sep="\t")
        paths.append(path)
    return paths


def _pandas_join(paths: list[Path]) -> pd.DataFrame:
    frames = []
    for path in paths:
        frame = pd.read_csv(path, sep="\t", index_col=0)
        frame.index = frame.index.str.replace(r"\.\d+$", "", regex=True)
        frames.append(frame.groupby(level=0).mean())
    return pd.concat(frames, axis=1, join="outer").sort_index()


def test_streamed_matrix_equals_pandas_join_preprocesscore_and_scikit_learn(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    paths = _experiments(tmp_path, rng)
    target = rng.gamma(2.0, 15.0, size=95)  # longer than any sample: interpolated
    joined = _pandas_join(paths)
    write_matrix(tmp_path / "joined.tsv", joined.to_numpy())
    write_matrix(tmp_path / "target.tsv", target[:, None])
    run_r(
        "suppressPackageStartupMessages(library(preprocessCore))\n"
        + R_WRITE
        + "x <- read_matrix('joined.tsv')\n"
        "t <- as.vector(read_matrix('target.tsv'))\n"
        "write_matrix(normalize.quantiles.use.target(x, t), 'normalised.tsv')\n",
        tmp_path,
    )
    normalised = read_matrix(tmp_path / "normalised.tsv")
    for scaling, peer in PEERS.items():
        out = tmp_path / scaling.value
        (result,) = aggregate_groups(
            {"all": paths},
            out,
            target=target,
            scaling=scaling,
            genes_per_block=7,
            samples_per_read=2,
        )
        expected = normalised if peer is None else peer().fit_transform(normalised.T).T
        ours = pd.read_csv(result.path, sep="\t", index_col=0)
        assert ours.index.name == "Gene"
        assert ours.index.tolist() == joined.index.tolist()
        assert ours.columns.tolist() == joined.columns.tolist() == result.samples
        values = ours.to_numpy()
        assert np.array_equal(np.isnan(values), np.isnan(expected)), scaling
        present = ~np.isnan(values)
        assert np.max(np.abs(values[present] - expected[present])) <= 1e-9, scaling
        assert result.genes == len(joined) and result.left_out == {}


def test_target_from_files_equals_determine_target_on_the_joined_matrix(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    paths = _experiments(tmp_path, rng)
    joined = _pandas_join(paths)
    write_matrix(tmp_path / "joined.tsv", joined.to_numpy())
    run_r(
        "suppressPackageStartupMessages(library(preprocessCore))\n"
        + R_WRITE
        + "x <- read_matrix('joined.tsv')\n"
        "write_matrix(as.matrix(normalize.quantiles.determine.target(x)), 'target.tsv')\n"
        "write_matrix(as.matrix(normalize.quantiles.determine.target(x, 40L)), 'short.tsv')\n",
        tmp_path,
    )
    ours = target_from_files(paths, samples_per_read=2)
    assert (ours.samples, ours.genes) == (10, len(joined))
    assert np.max(np.abs(ours.values - read_matrix(tmp_path / "target.tsv")[:, 0])) <= 1e-9
    short = target_from_files(paths, length=40).values
    assert np.max(np.abs(short - read_matrix(tmp_path / "short.tsv")[:, 0])) <= 1e-9
