"""What a workload coordinator's dashboard shows, computed by PostgreSQL aggregate queries."""
