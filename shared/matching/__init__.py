"""Matching of workload requests to capacity offers."""
