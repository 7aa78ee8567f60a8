"""`inv users.*`: people's database logins and their roles (analyst, engineer, admin)."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


@task(help={"env": ENV_HELP, "name": "login name", "role": "analyst, engineer or admin"})
def add(c: Context, env: str, name: str, role: str) -> None:
    """Create a person's database login and console API token in a role; prints both once."""
    from ops.users.logins import add_user

    user = add_user(environment(env), name, role)
    console.print(f"created {name} ({role}). Database password (shown once, store it now):")
    print(user.password)
    console.print("Console API token (shown once, store it now):")
    print(user.token)


@task(help={"env": ENV_HELP, "name": "login name whose console API token to replace"})
def token(c: Context, env: str, name: str) -> None:
    """Replace a person's console API token (the old one stops working); prints it once."""
    from ops.users.logins import rotate_token

    new = rotate_token(environment(env), name)
    console.print(f"new console API token for {name} (shown once, store it now):")
    print(new)


@task(help={"env": ENV_HELP, "json": JSON_HELP}, read_only=True)
def list_(c: Context, env: str, json: bool = False) -> None:
    """List people's database logins and their roles."""
    from ops.users.logins import list_users

    users = list_users(environment(env))
    if json:
        print_json([u.__dict__ for u in users])
    else:
        print_table(
            "users", ("name", "role", "login"), ((u.name, u.role, u.can_login) for u in users)
        )


@task(help={"env": ENV_HELP, "name": "login name to remove"})
def remove(c: Context, env: str, name: str) -> None:
    """Remove a person: their console API token and login first, then their database role."""
    from ops.users.logins import remove_user

    remove_user(environment(env), name)
    console.print(f"removed {name}")


ns = Collection("users")
ns.add_task(add)
ns.add_task(list_, name="list")
ns.add_task(remove)
ns.add_task(token)
