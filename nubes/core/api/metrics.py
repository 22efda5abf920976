"""Prometheus text metrics shared by every service: requests by route and status, latency histograms."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)
        self.gauges: dict[str, Callable[[], float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        counts = self.latency.get(route)
        if counts is None:
            counts = self.latency[route] = [0] * (len(BUCKETS) + 1)
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum[route] += seconds
        self.latency_count[route] += 1

    def gauge(self, name: str, fn: Callable[[], float]) -> None:
        self.gauges[name] = fn

    def render(self) -> str:
        svc = self.service
        lines = ["# TYPE nubes_http_requests_total counter"]
        for (method, route, status), n in sorted(self.requests.items()):
            lines.append(f'nubes_http_requests_total{{service="{svc}",method="{method}",'
                         f'route="{route}",status="{status}"}} {n}')
        lines.append("# TYPE nubes_http_request_duration_seconds histogram")
        for route, counts in sorted(self.latency.items()):
            acc = 0
            for le, c in zip((*BUCKETS, float("inf")), counts, strict=True):
                acc += c
                le_s = "+Inf" if le == float("inf") else repr(le)
                lines.append(f'nubes_http_request_duration_seconds_bucket{{service="{svc}",'
                             f'route="{route}",le="{le_s}"}} {acc}')
            lines.append(f'nubes_http_request_duration_seconds_sum{{service="{svc}",route="{route}"}} '
                         f'{self.latency_sum[route]:.6f}')
            lines.append(f'nubes_http_request_duration_seconds_count{{service="{svc}",route="{route}"}} '
                         f'{self.latency_count[route]}')
        for name, fn in sorted(self.gauges.items()):
            try:
                value = float(fn())
            except Exception:  # a broken gauge must not break the scrape
                continue
            lines.append(f"# TYPE nubes_{name} gauge")
            lines.append(f'nubes_{name}{{service="{svc}"}} {value}')
        return "\n".join(lines) + "\n"
