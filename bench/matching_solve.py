"""The matching engine at four scales, against a reference LP and a greedy baseline.

    python -m bench.matching_solve [--scales small,realistic,multi,large] [--lp-time-limit 180]

For each scale, in separate processes (so that peak memory is the engine's own):
- the engine: graph size, eligible pairs, solve time, peak memory, served weight W and
  travel hours;
- the reference: a straightforward linear program with one variable per (eligible pair,
  common working day), solved by HiGHS under a time limit. Its W must equal the engine's.
  It is skipped, with the reason, when it would not fit the time or the memory;
- a greedy baseline (highest priority first, earliest first) and how much less W it serves.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from bench.matching_instances import SCALES, generate
from shared.matching import engine
from shared.matching.engine import Problem, solve

LP_MAX_VARIABLES = 30_000_000


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_engine(scale: str) -> dict[str, Any]:
    problem = generate(scale)
    # A worker solves many times in one process: time a warm solve, not the first-call
    # set-up of the libraries (measured apart).
    started = time.perf_counter()
    solve(generate("small"))
    first_call = time.perf_counter() - started
    before = _rss_mib()
    started = time.perf_counter()
    result = solve(problem)
    seconds = time.perf_counter() - started
    peak = _rss_mib()
    greedy_started = time.perf_counter()
    greedy_w = greedy(problem)
    return {
        "requests": len(problem.requests),
        "offers": len(problem.offers),
        "pairs": result.eligible_pairs,
        "nodes": result.graph_nodes,
        "arcs": result.graph_arcs,
        "seconds": seconds,
        "first_call_seconds": first_call,
        "rss_before_mib": before,
        "rss_peak_mib": peak,
        "weight": result.weight_served,
        "travel": result.travel_hours,
        "hours": result.hours_proposed,
        "allocations": len(result.allocations),
        "greedy_weight": greedy_w,
        "greedy_seconds": time.perf_counter() - greedy_started,
    }


def greedy(problem: Problem) -> int:
    """Served weight of a greedy matching: requests by priority then start date, each taking
    hours from its eligible offers (no travel first, then by start, then id), earliest
    days first, as long as the limits allow."""
    inst = engine._Instance(problem)
    p = inst.pairs
    order = np.lexsort((inst.r_lo, -inst.r_weight))
    # Pairs of each request, offers in preference order.
    by_req = np.lexsort((p.offer, inst.o_lo[p.offer], p.travel, p.request))
    starts = np.searchsorted(p.request[by_req], np.arange(len(inst.requests) + 1))
    length = np.maximum(inst.o_hi - inst.o_lo + 1, 0)
    base = np.concatenate([[0], np.cumsum(length)])
    day_left = np.repeat(np.maximum(inst.o_hpd, 0), length)
    if inst.used_keys.size:
        uo = inst.used_keys // inst.day_stride
        ud = inst.used_keys % inst.day_stride + inst.day_base
        day_left[base[uo] + ud - inst.o_lo[uo]] = inst.day_left(uo, ud)
    total = inst.o_total.copy()
    served = 0
    lo, hi, offer = p.lo.tolist(), p.hi.tolist(), p.offer.tolist()
    for r in order.tolist():
        need = int(inst.r_remaining[r])
        for q in by_req[starts[r] : starts[r + 1]].tolist():
            o = offer[q]
            if need == 0:
                break
            if total[o] <= 0:
                continue
            a = base[o] + lo[q] - inst.o_lo[o]
            days = day_left[a : a + hi[q] - lo[q] + 1]
            want = min(need, int(total[o]))
            cum = np.cumsum(days)
            if cum.size == 0 or cum[-1] == 0:
                continue
            take = np.minimum(days, np.maximum(want - (cum - days), 0))
            got = int(take.sum())
            days -= take
            total[o] -= got
            need -= got
            served += got * int(inst.r_weight[r])
    return served


def run_lp(scale: str, time_limit: float) -> dict[str, Any]:
    """The reference LP: maximise W over x(pair, day) >= 0 with the three kinds of limits."""
    import highspy

    problem = generate(scale)
    inst = engine._Instance(problem)
    p = inst.pairs
    span = np.maximum(p.hi - p.lo + 1, 0)
    n_vars = int(span.sum())
    if n_vars > LP_MAX_VARIABLES:
        return {"status": f"not built: {n_vars:,} variables (> {LP_MAX_VARIABLES:,})"}
    started = time.perf_counter()
    col_pair = np.repeat(np.arange(p.request.size, dtype=np.int64), span)
    col_day = np.repeat(p.lo, span) + engine._ranges(np.zeros(span.size, np.int64), span)
    col_offer = p.offer[col_pair]
    left = inst.day_left(col_offer, col_day)
    keep = left > 0
    col_pair, col_day, col_offer, left = col_pair[keep], col_day[keep], col_offer[keep], left[keep]
    n = col_pair.size
    day_keys, day_row = np.unique(inst.day_key(col_offer, col_day), return_inverse=True)
    day_row = day_row.reshape(-1)
    n_day = day_keys.size
    no, nr = len(inst.offers), len(inst.requests)
    # Rows: (offer, day) limits, offer totals, request remainders.
    rows = np.stack([day_row, n_day + col_offer, n_day + no + p.request[col_pair]], axis=1)
    day_ub = np.zeros(n_day, dtype=np.int64)
    day_ub[day_row] = left
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = n_day + no + nr
    lp.col_cost_ = inst.r_weight[p.request[col_pair]].astype(float)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, highspy.kHighsInf)
    lp.row_lower_ = np.full(lp.num_row_, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([day_ub, inst.o_total, inst.r_remaining]).astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 3 * n + 1, 3, dtype=np.int32)
    lp.a_matrix_.index_ = rows.reshape(-1).astype(np.int32)
    lp.a_matrix_.value_ = np.ones(3 * n)
    lp.sense_ = highspy.ObjSense.kMaximize
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    if n > 500_000:
        # Large programs: interior point, whose optimum value is enough here (W is
        # compared after rounding), finishes where the simplex does not.
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    h.passModel(lp)
    build = time.perf_counter() - started
    h.run()
    status = h.getModelStatus()
    seconds = time.perf_counter() - started
    if status != highspy.HighsModelStatus.kOptimal:
        return {"status": f"did not finish ({h.modelStatusToString(status)})", "seconds": seconds}
    return {
        "status": "optimal",
        "weight": round(h.getInfo().objective_function_value),
        "seconds": seconds,
        "build_seconds": build,
        "variables": n,
        "rows": int(lp.num_row_),
        "rss_peak_mib": _rss_mib(),
    }


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.matching_solve", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "did not finish (timeout)"}
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"did not finish (exit {out.returncode}: {tail})"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default=",".join(SCALES))
    parser.add_argument("--lp-time-limit", type=float, default=180.0)
    parser.add_argument("--no-lp", action="store_true", help="skip the reference LP")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--lp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args.engine)))
        return
    if args.lp:
        print(json.dumps(run_lp(args.lp, args.lp_time_limit)))
        return

    header = (
        f"{'scale':<10}{'requests':>9}{'offers':>7}{'pairs':>11}{'nodes':>9}{'arcs':>10}"
        f"{'solve s':>9}{'peak MiB':>9}{'W':>10}{'travel h':>9}"
        f"{'LP W':>10}{'LP s':>8}{'LP/ours':>8}{'greedy W':>10}{'greedy':>8}"
    )
    print(header)
    print("-" * len(header))
    notes = []
    for scale in args.scales.split(","):
        e = _child(["--engine", scale], timeout=3600)
        if "weight" not in e:
            print(f"{scale:<10} engine {e.get('status')}")
            continue
        if args.no_lp:
            lp: dict[str, Any] = {"status": "skipped (--no-lp)"}
        else:
            lp = _child(
                ["--lp", scale, "--lp-time-limit", str(args.lp_time_limit)],
                timeout=args.lp_time_limit * 3 + 600,
            )
        if lp.get("status") == "optimal":
            lp_w, lp_s = f"{lp['weight']:,}", f"{lp['seconds']:.2f}"
            ratio = f"{lp['seconds'] / e['seconds']:.0f}x"
            if lp["weight"] != e["weight"]:
                notes.append(
                    f"{scale}: LP W {lp['weight']} differs from the engine's {e['weight']}"
                )
        else:
            lp_w, lp_s, ratio = "-", "-", "-"
            notes.append(f"{scale}: reference LP {lp.get('status')}")
        less = 100.0 * (e["weight"] - e["greedy_weight"]) / max(e["weight"], 1)
        print(
            f"{scale:<10}{e['requests']:>9,}{e['offers']:>7,}{e['pairs']:>11,}{e['nodes']:>9,}"
            f"{e['arcs']:>10,}{e['seconds']:>9.3f}{e['rss_peak_mib']:>9.0f}{e['weight']:>10,}"
            f"{e['travel']:>9,}{lp_w:>10}{lp_s:>8}{ratio:>8}{e['greedy_weight']:>10,}"
            f"{-less:>7.1f}%",
            flush=True,
        )
    for note in notes:
        print(note)
    print(
        "solve s: a warm solve (the process solved a small instance first); nodes, arcs: the"
        " final network; peak MiB: the engine process's peak resident memory (instance"
        " included); greedy: its W relative to the engine's."
    )


if __name__ == "__main__":
    main()
