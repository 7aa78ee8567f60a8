"""Operations: the Invoke tasks, runbooks, deploy, backups and lake tooling around the foreman."""
