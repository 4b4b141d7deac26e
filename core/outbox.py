"""The transactional outbox (stub: being written)."""
