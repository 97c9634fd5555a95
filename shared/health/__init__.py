"""What the readiness probe asks of the database."""
