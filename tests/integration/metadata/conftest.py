from tests.support.metadata_fixtures import md_conn, metadata_env, redcap  # noqa: F401
