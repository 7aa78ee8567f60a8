"""`inv jobs.*`: queueing surveys, status, retry and cancel; the workers benchmark."""
