"""The section of data out, `[datasets]`: read by the dataset workers (`workers.datasets`) and
the `inv datasets.*` tasks.

It has a module of its own because the local environment sets it: loading an environment
imports only the modules of the sections its file has, and a quick command on `local` should
not build the foreman's and the workers' schemas (`jobs`) for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from common.settings.base import Bounds, Field, Integer, Section, section


@section("datasets")
@dataclass(frozen=True)
class DatasetsSettings(Section):
    """Data out: datasets, quantile-normalisation targets and compendia (`workers.datasets`).

    An organism's QN target is made only from at least `qn_target_min_samples` processed
    samples (fewer would make a target that says more about those samples than about the
    organism); a dataset's link (a presigned URL on S3) lasts `link_days` and is renewed by
    `inv datasets.link`.
    """

    qn_target_min_samples: Annotated[Integer, Bounds(ge=1)] = Field(
        default=100, description="fewest processed samples a QN target is made from"
    )
    link_days: Annotated[Integer, Bounds(ge=1, le=7)] = Field(
        default=7, description="days a dataset's download link lasts (S3 allows 7 at most)"
    )
