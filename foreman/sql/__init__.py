"""The schema: plain ordered SQL migrations and `schema.sql`, their result in one file."""
