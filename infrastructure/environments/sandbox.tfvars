# The sandbox's stack variables: the null-provider stack's outputs name the sandbox's own
# services (ports as in sandbox.toml), where the AWS stack's name what AWS created.
environment = "sandbox"
region      = "us-east-1"

database_address = "127.0.0.1"
database_port    = 24532
registry         = "127.0.0.1:24500"
foreman_address  = "127.0.0.1"
