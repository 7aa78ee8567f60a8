"""Projects: set one up, list them with what they hold, show one with its metadata."""
