"""Working days (stub: being written)."""
