"""AWS Batch job definitions: render from templates, validate, register, prune."""
