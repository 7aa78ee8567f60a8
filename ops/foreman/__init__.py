"""`inv foreman.*` and the dispatch benchmark."""
