"""`inv release.*`: what a release tag means, for CI."""

from __future__ import annotations

from invoke import Collection

from ops.release.versions import RULE, environment_for_version
from ops.taskkit import task


@task(help={"tag": f"a release tag ({RULE})"})
def resolve(c, tag):
    """Print the environment a release tag deploys to (staging or prod), for CI."""
    print(environment_for_version(tag))


ns = Collection("release")
ns.add_task(resolve)
