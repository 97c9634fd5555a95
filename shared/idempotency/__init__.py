"""Idempotency records: the first response to a creating POST, kept per key."""
