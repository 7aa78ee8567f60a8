"""The bench table names a target as it is (0.95 is not rounded to 0.9); the RNA-seq view's
correlation is Pearson's r of log2 TPM+1 and its heatmap keeps sample labels as escaped text."""

from __future__ import annotations

import base64
import re

import numpy as np

from ops.analyses.rnaseq_view import heatmap_svg, sample_correlation
from ops.benchkit import Comparison


def test_a_target_is_shown_with_the_decimals_it_has():
    assert Comparison("b", 1.0, "p", 1.0, target=0.95).row()[0] == "b (target ≥ 0.95×)"
    assert Comparison("b", 1.0, "p", 1.0, target=2.0).row()[0] == "b (target ≥ 2.0×)"


def test_sample_correlation_is_pearson_of_log2_tpm_plus_one():
    tpm = np.random.default_rng(3).lognormal(0, 2, (200, 3))
    correlation = sample_correlation(tpm)
    logged = np.log2(tpm + 1)
    assert correlation.shape == (3, 3)
    assert np.allclose(np.diag(correlation), 1.0)
    assert np.isclose(correlation[0, 2], np.corrcoef(logged[:, 0], logged[:, 2])[0, 1])


def test_heatmap_labels_are_text_and_markup_in_them_is_escaped():
    samples = ["S1", 'S<script>"2']
    svg = base64.b64decode(heatmap_svg("t", samples, np.eye(2))).decode()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert texts.count("S1") == 2 and texts.count('S&lt;script&gt;"2') == 2
    assert "<script" not in svg
