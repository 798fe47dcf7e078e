"""Turn the load benchmark's numbers into the table printed and saved as
bench/results/latest.md (pure: numbers in, markdown out)."""

from __future__ import annotations

import datetime
import os
import platform
from typing import Any

TARGETS = {
    "b_over_a": 0.40,
    "added_p50_ms": 0.2,
    "flood_slowdown": 0.20,
    "memory_mb": 150.0,
}


def _check(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(results: Any, rounds: int, seconds: int, connections: int) -> str:
    m = results.median
    lines = [
        "# Gateway load benchmark",
        "",
        f"Run {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')} on "
        f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}), "
        f"wrk -t1, {connections} connections, {rounds} interleaved rounds of {seconds} s "
        "(medians shown). The gateway is one process (`--workers 1`); wrk and the upstreams "
        "share the other core. The targets are read from these one-process rows; (b2) is the "
        "product's default shape (one process per core) on a machine where wrk and the "
        "upstream need the same two cores, shown for information. The machine is shared with "
        "other engineers' test runs: read the ratios, not the absolute numbers.",
        "",
        "| configuration | requests/s | p50 ms | p99 ms | gateway CPU µs/request |",
        "|---|---:|---:|---:|---:|",
    ]
    for key in ("a", "n", "b", "b_base", "b2", "c", "d", "a1", "b1", "b1_base"):
        runs = results.runs.get(key)
        if not runs:
            continue
        cpu = m(key, "cpu_us")
        lines.append(
            f"| ({key}) {runs[0].label} | {m(key, 'rps'):.0f} | {m(key, 'p50_ms'):.3f} | "
            f"{m(key, 'p99_ms'):.3f} | {'' if cpu != cpu else f'{cpu:.0f}'} |"
        )
    b_over_a = m("b", "rps") / m("a", "rps")
    c_over_b = m("c", "rps") / m("b", "rps")
    d_over_b = m("d", "rps") / m("b", "rps")
    added = m("b1", "p50_ms") - m("a1", "p50_ms")
    lines += [
        "",
        "## Against the targets",
        "",
        "| measure | value | target | |",
        "|---|---:|---:|---|",
        f"| (b)/(a) requests/s | {b_over_a:.2f} | ≥ {TARGETS['b_over_a']:.2f} | "
        f"{_check(b_over_a >= TARGETS['b_over_a'])} |",
        f"| added p50 at one connection, (b1) − (a1) | {added:.3f} ms | ≤ "
        f"{TARGETS['added_p50_ms']} ms | {_check(added <= TARGETS['added_p50_ms'])} |",
        f"| (n)/(a) requests/s: the naive aiohttp proxy, for reference (issue: ~0.21) | "
        f"{m('n', 'rps') / m('a', 'rps'):.2f} | | |",
        f"| (b)/(n) requests/s: the gateway against the naive proxy | "
        f"{m('b', 'rps') / m('n', 'rps'):.2f} | | |",
        f"| (b2)/(a) requests/s: `--workers 2` (both cores, shared with wrk and the upstream) | "
        f"{m('b2', 'rps') / m('a', 'rps'):.2f} | | |",
        f"| (c)/(b) requests/s (unknown tokens vs cached) | {c_over_b:.2f} | | |",
        f"| (d)/(b) requests/s (upstream_app vs static) | {d_over_b:.2f} | | |",
    ]
    if results.runs.get("b_base"):
        lines += [
            f"| (b)/(b_base) requests/s: this tree against BENCH_BASELINE | "
            f"{m('b', 'rps') / m('b_base', 'rps'):.2f} | | |",
            f"| (b1) − (b1_base) p50 at one connection | "
            f"{m('b1', 'p50_ms') - m('b1_base', 'p50_ms'):+.3f} ms | | |",
        ]
    flood = results.extra.get("flood")
    if flood:
        with_c = m("b_with_c", "p50_ms")
        alone = m("b_half", "p50_ms")
        slowdown = with_c / alone - 1
        lines += [
            f"| (c) flood: database lookups/s (pool max {flood['pool_max']:.0f} connections) | "
            f"{flood['db_lookups_per_s']:.0f}/s for {flood['flood_rps']:.0f} unknown-token "
            f"req/s, {flood['store_errors']:.0f} store errors | within pool capacity | "
            f"{_check(flood['store_errors'] == 0)} |",
            f"| (b) p50 while (c) floods vs (b) alone, same connection count | "
            f"{with_c:.3f} vs {alone:.3f} ms ({slowdown:+.0%}) | ≤ +20% | "
            f"{_check(slowdown <= TARGETS['flood_slowdown'])} |",
        ]
    for key in ("b", "c"):
        small, large = m(f"{key}_1000", "rps"), m(f"{key}_1000000", "rps")
        if small == small and large == large:
            lines.append(
                f"| ({key}) with 1,000,000 vs 1,000 credentials | {large:.0f} vs {small:.0f} "
                f"req/s ({large / small - 1:+.0%}) | no visible effect | "
                f"{_check(abs(large / small - 1) <= 0.10)} |"
            )
    memory = results.extra.get("memory")
    if memory:
        lines.append(
            f"| gateway RSS with {memory['cache_entries']:,.0f} cached credentials | "
            f"{memory['rss_after_mb']:.0f} MB (at start {memory['rss_before_mb']:.0f} MB) | "
            f"< {TARGETS['memory_mb']:.0f} MB | "
            f"{_check(memory['rss_after_mb'] < TARGETS['memory_mb'])} |"
        )
    profile = results.extra.get("profile")
    if profile:
        lines += ["", "## Where the gateway's time goes in (b) (py-spy, share of samples)", ""]
        if "note" in profile:
            lines.append(profile["note"])
        else:
            lines += ["| part | share |", "|---|---:|"]
            lines += [f"| {name} | {share:.1f}% |" for name, share in profile["buckets"]]
            lines += ["", "Top functions by self time:", ""]
            lines += [f"- {share:.1f}% {name}" for name, share in profile["top"]]
    lines += ["", *results.notes]
    return "\n".join(lines) + "\n"
