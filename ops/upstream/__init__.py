"""Following upstream: merging upstream repositories and template updates into this
repository on a branch of their own, tested before anything is pushed."""
