"""`inv users.*`: people's database logins and their roles (analyst, engineer, admin)."""

from __future__ import annotations

from invoke import Collection

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task
from ops.users import add_user, list_users, remove_user


@task(help={"env": ENV_HELP, "name": "login name", "role": "analyst, engineer or admin"})
def add(c, env, name, role):
    """Create a person's database login in a role; prints the password once."""
    password = add_user(environment(env), name, role)
    console.print(f"created {name} ({role}). Password (shown once, store it now):")
    print(password)


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def list_(c, env, json=False):
    """List people's database logins and their roles."""
    users = list_users(environment(env))
    if json:
        print_json([u.__dict__ for u in users])
    else:
        print_table(
            "users", ("name", "role", "login"), ((u.name, u.role, u.can_login) for u in users)
        )


@task(help={"env": ENV_HELP, "name": "login name to remove"})
def remove(c, env, name):
    """Remove a person's database login."""
    remove_user(environment(env), name)
    console.print(f"removed {name}")


ns = Collection("users")
ns.add_task(add)
ns.add_task(list_, name="list")
ns.add_task(remove)
