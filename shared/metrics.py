"""What both processes export about themselves to Prometheus."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector


def add_process_collectors(registry: CollectorRegistry) -> None:
    """Memory, CPU, open file descriptors, Python version and garbage collection."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
