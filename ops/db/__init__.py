"""`inv db.*`: schema migrations and the database backups (`ops/db/backups/`)."""
