"""The foreman: owns the database (catalog + jobs), dispatches jobs to executors, watches them."""
