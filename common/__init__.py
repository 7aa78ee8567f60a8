"""The shared core: environments and settings, errors and exit codes, the command wrapper,
database access and SQL loading, the catalog and the data lake.

Everything here is needed by the foreman, the workers and the operations tasks alike; nothing
here imports `foreman`, `workers` or `ops`.
"""
