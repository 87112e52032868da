#!/usr/bin/env python3
"""Bench 2, sustained load: miner-load --verify at 20,000 messages/s for 60 s from a 100,000-miner fleet against
the release miner-index (fresh for every repeat), sampling the input queue's depth and the service's RSS once a
second. Reports the achieved rate, the depth over time, lag p50/p95/p99 (target: p99 <= broadcast interval +
100 ms) and the service's RSS and CPU."""
import argparse
import json
import subprocess
import time

from benchlib import (AMQP_URL, binary, cpu_seconds, delete_topology, exchange_flags, log, machine, median,
                      output_exchanges, status_bytes, stop, write_results)

parser = argparse.ArgumentParser()
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--asic", type=int, default=60_000)
parser.add_argument("--cpu-gpu", type=int, default=40_000)
parser.add_argument("--rate", type=int, default=20_000)
parser.add_argument("--duration", default="60s")
parser.add_argument("--broadcast-interval", default="1s")
parser.add_argument("--keep", action="store_true", help="keep the bench queues and exchanges afterwards")
arguments = parser.parse_args()

PREFIX = "bench.sustained"
QUEUE, EXCHANGE, DLX, DLQ = f"{PREFIX}.logs", f"{PREFIX}.in", f"{PREFIX}.dlx", f"{PREFIX}.dlq"
OUTPUTS = output_exchanges(PREFIX)
fleet = arguments.asic + arguments.cpu_gpu
report_interval = f"{fleet / arguments.rate:g}s"  # the fleet's own pace is exactly the requested rate


def tool(*args):
    subprocess.run([binary("amqp-drain-bench"), *args, "--amqp-url", AMQP_URL, "--queue", QUEUE], check=True)


def one_run(repeat):
    tool("declare-input", "--exchange", EXCHANGE, "--dead-letter-exchange", DLX, "--dead-letter-queue", DLQ)
    tool("purge", "--also", DLQ)
    service = subprocess.Popen(
        [binary("miner-index"), "--amqp-url", AMQP_URL, "--queue", QUEUE, "--exchange", EXCHANGE,
         "--dead-letter-exchange", DLX, "--dead-letter-queue", DLQ, "--broadcast-interval", arguments.broadcast_interval,
         "--http-port", "0", "--log-level", "warning", "--state", "none", *exchange_flags(OUTPUTS)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = None
    try:
        time.sleep(2)
        sampler = subprocess.Popen(
            [binary("amqp-drain-bench"), "sample-depth", "--amqp-url", AMQP_URL, "--queue", QUEUE, "--every", "1",
             "--for", "300", "--pid", str(service.pid)],
            stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        load = subprocess.run(
            [binary("miner-load"), "--amqp-url", AMQP_URL, "--exchange", EXCHANGE, "--asic", str(arguments.asic),
             "--cpu-gpu", str(arguments.cpu_gpu), "--report-interval", report_interval, "--rate", str(arguments.rate),
             "--duration", arguments.duration, "--register", "--verify", "--verify-timeout", "30s",
             "--seed", str(repeat + 1), *exchange_flags(OUTPUTS), "--quiet", "--json"],
            capture_output=True, text=True)
        wall = time.monotonic() - started
        service_cpu = cpu_seconds(service.pid)
        peak_rss = status_bytes(service.pid, "VmHWM")
    finally:
        if sampler:
            stop(sampler)
        stop(service)
    samples = [line.split() for line in sampler.stdout.read().splitlines() if line.strip()]
    depths = [(float(s[0]), int(s[1])) for s in samples]
    rss = [int(s[2]) for s in samples if len(s) > 2]
    if not load.stdout.strip():
        raise RuntimeError(f"miner-load exited {load.returncode}: {load.stderr[-2000:]}")
    summary = json.loads(load.stdout.strip().splitlines()[-1])
    verification = summary.get("verification") or {}
    lag = verification.get("lag", {})
    result = {
        "exit_status": load.returncode, "achieved_rate": summary["achieved_rate"], "counts": summary["counts"],
        "passed": verification.get("passed"), "converged_after_seconds": verification.get("converged_after_seconds"),
        "lag": lag, "max_depth": max((d for _, d in depths), default=0), "depths": depths,
        "peak_rss_bytes": peak_rss, "rss_samples": rss, "service_cpu_seconds": service_cpu, "wall_seconds": wall,
        "kinds": verification.get("kinds"),
    }
    log(f"repeat {repeat + 1}: {result['achieved_rate']:.0f} msg/s, verify {'passed' if result['passed'] else 'FAILED'}"
        f" ({result['converged_after_seconds']}), lag p50/p95/p99 {lag.get('p50')}/{lag.get('p95')}/{lag.get('p99')} s,"
        f" max depth {result['max_depth']}, peak RSS {peak_rss / 2**20:.0f} MiB, service CPU {service_cpu:.0f} s")
    return result


def with_retries(repeat, attempts=3):
    """The broker is shared: another client's test may restart it or close every connection mid-run. Such a
    run says nothing about miner-index, so it is repeated rather than reported."""
    for attempt in range(attempts):
        try:
            return one_run(repeat)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            log(f"repeat {repeat + 1} attempt {attempt + 1} disrupted: {error}; retrying in 15 s")
            time.sleep(15)
    raise SystemExit(f"repeat {repeat + 1} failed {attempts} times")


runs = [with_retries(repeat) for repeat in range(arguments.repeats)]


def ms(value):
    return f"{value * 1000:.0f} ms" if value is not None else "n/a"


target = float(arguments.broadcast_interval.rstrip("s")) + 0.1 if arguments.broadcast_interval.endswith("s") and not arguments.broadcast_interval.endswith("ms") else None
print(f"\n{fleet} miners ({arguments.asic} ASIC + {arguments.cpu_gpu} CPU/GPU), --rate {arguments.rate} for "
      f"{arguments.duration}, broadcast interval {arguments.broadcast_interval}, {arguments.repeats} repeats\n")
print("| run | achieved msg/s | vs requested | verify | converged | lag p50 | lag p95 | lag p99 | max queue depth | peak RSS | service CPU |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for index, run in enumerate(runs):
    lag = run["lag"]
    print(f"| {index + 1} | {run['achieved_rate']:.0f} | {run['achieved_rate'] / arguments.rate:.2f}x | "
          f"{'pass' if run['passed'] else 'FAIL'} | {run['converged_after_seconds'] if run['converged_after_seconds'] is not None else 'n/a'} s | "
          f"{ms(lag.get('p50'))} | {ms(lag.get('p95'))} | {ms(lag.get('p99'))} | {run['max_depth']} | "
          f"{run['peak_rss_bytes'] / 2**20:.0f} MiB | {run['service_cpu_seconds'] / run['wall_seconds'] * 100:.0f}% of a core |")
p99s = [r["lag"].get("p99") for r in runs if r["lag"].get("p99") is not None]
print(f"| median | {median([r['achieved_rate'] for r in runs]):.0f} | {median([r['achieved_rate'] for r in runs]) / arguments.rate:.2f}x | "
      f"{sum(1 for r in runs if r['passed'])}/{len(runs)} pass | | {ms(median([r['lag'].get('p50') for r in runs if r['lag'].get('p50') is not None]))} | "
      f"{ms(median([r['lag'].get('p95') for r in runs if r['lag'].get('p95') is not None]))} | {ms(median(p99s))} | "
      f"{median([r['max_depth'] for r in runs]):.0f} | {median([r['peak_rss_bytes'] for r in runs]) / 2**20:.0f} MiB | |")
if target and p99s:
    print(f"\nlag p99 target {target * 1000:.0f} ms: median p99 is {median(p99s) / target:.2f}x the target")
first = runs[0]["depths"]
print("\nqueue depth over time, run 1 (seconds: messages): " + ", ".join(f"{t:.0f}: {d}" for t, d in first[::5]))
write_results("sustained", {"machine": machine(), "arguments": vars(arguments), "runs": runs})
if not arguments.keep:
    delete_topology([QUEUE, DLQ], [EXCHANGE, DLX, *OUTPUTS.values()])
