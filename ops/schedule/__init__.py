"""Timers for the work that must happen without anyone typing: backups and sealing."""
