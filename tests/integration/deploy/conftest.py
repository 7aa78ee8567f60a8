from tests.support.deploy_fixtures import (  # noqa: F401 - fixtures
    deploy_env,
    fake_steps,
    make_deploy_env,
    ssh_server,
)
