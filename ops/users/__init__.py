"""People's database logins and their console API tokens (`ops.users.logins`), behind
`inv users.*` (`ops.users.tasks`)."""
