#!/usr/bin/env python3
"""Bench 2, sustained load: miner-load at 20,000 messages/s for 60 s from a 100,000-miner fleet against the release
miner-index (fresh for every run), sampling the input queue's depth and the service's RSS once a second.

Each repeat runs, one after the other on the same machine:
  - `verify`: miner-load --verify (lag probes, convergence check, the reference subscriber rebuilding both full
    indexes from keyframes and deltas);
  - `no-verify`: the same run without --verify;
  - `baseline`, with --baseline-bin-dir: the --verify run of another build (miner-index and miner-load both).

Reports per variant the achieved rate (target: verify at least 0.95x no-verify), miner-load's own CPU per message,
how far the generator fell behind its pace, lag p50/p95/p99 (target: p99 <= broadcast interval + 100 ms), the
queue's depth and the service's RSS and CPU."""
import argparse
import json
import os
import resource
import subprocess
import time

from benchlib import (AMQP_URL, BIN, delete_topology, exchange_flags, log, machine, median, output_exchanges,
                      status_bytes, stop, write_results, cpu_seconds)

parser = argparse.ArgumentParser()
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--asic", type=int, default=60_000)
parser.add_argument("--cpu-gpu", type=int, default=40_000)
parser.add_argument("--rate", type=int, default=20_000)
parser.add_argument("--duration", default="60s")
parser.add_argument("--broadcast-interval", default="1s")
parser.add_argument("--baseline-bin-dir", help="release binaries of another build, run as the 'baseline' variant")
parser.add_argument("--only-verify", action="store_true", help="skip the no-verify variant")
parser.add_argument("--keep", action="store_true", help="keep the bench queues and exchanges afterwards")
arguments = parser.parse_args()

PREFIX = "bench.sustained"
QUEUE, EXCHANGE, DLX, DLQ = f"{PREFIX}.logs", f"{PREFIX}.in", f"{PREFIX}.dlx", f"{PREFIX}.dlq"
OUTPUTS = output_exchanges(PREFIX)
fleet = arguments.asic + arguments.cpu_gpu
report_interval = f"{fleet / arguments.rate:g}s"  # the fleet's own pace is exactly the requested rate

variants = [("verify", BIN, True)]
if not arguments.only_verify:
    variants.append(("no-verify", BIN, False))
if arguments.baseline_bin_dir:
    variants.append(("baseline", os.path.abspath(arguments.baseline_bin_dir), True))


def path(bin_dir, name):
    found = os.path.join(bin_dir, name)
    if not os.path.exists(found):
        raise SystemExit(f"{found} is missing; run bench/build.sh first")
    return found


def tool(*args):
    subprocess.run([path(BIN, "amqp-drain-bench"), *args, "--amqp-url", AMQP_URL, "--queue", QUEUE], check=True)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(repeat, label, bin_dir, verify):
    tool("declare-input", "--exchange", EXCHANGE, "--dead-letter-exchange", DLX, "--dead-letter-queue", DLQ)
    tool("purge", "--also", DLQ)
    service = subprocess.Popen(
        [path(bin_dir, "miner-index"), "--amqp-url", AMQP_URL, "--queue", QUEUE, "--exchange", EXCHANGE,
         "--dead-letter-exchange", DLX, "--dead-letter-queue", DLQ, "--broadcast-interval", arguments.broadcast_interval,
         "--http-port", "0", "--log-level", "warning", "--state", "none", *exchange_flags(OUTPUTS)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = None
    try:
        time.sleep(2)
        sampler = subprocess.Popen(
            [path(BIN, "amqp-drain-bench"), "sample-depth", "--amqp-url", AMQP_URL, "--queue", QUEUE, "--every", "1",
             "--for", "300", "--pid", str(service.pid)],
            stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        cpu_before = children_cpu()
        load = subprocess.run(
            [path(bin_dir, "miner-load"), "--amqp-url", AMQP_URL, "--exchange", EXCHANGE, "--asic", str(arguments.asic),
             "--cpu-gpu", str(arguments.cpu_gpu), "--report-interval", report_interval, "--rate", str(arguments.rate),
             "--duration", arguments.duration, "--register", *(["--verify", "--verify-timeout", "30s"] if verify else []),
             "--seed", str(repeat + 1), *exchange_flags(OUTPUTS), "--quiet", "--json"],
            capture_output=True, text=True)
        load_cpu = children_cpu() - cpu_before
        wall = time.monotonic() - started
        service_cpu = cpu_seconds(service.pid)
        peak_rss = status_bytes(service.pid, "VmHWM")
    finally:
        if sampler:
            stop(sampler)
        stop(service)
    samples = [line.split() for line in sampler.stdout.read().splitlines() if line.strip()]
    depths = [(float(s[0]), int(s[1])) for s in samples]
    if not load.stdout.strip():
        raise RuntimeError(f"miner-load exited {load.returncode}: {load.stderr[-2000:]}")
    summary = json.loads(load.stdout.strip().splitlines()[-1])
    verification = summary.get("verification") or {}
    lag = verification.get("lag", {})
    counts = summary["counts"]
    result = {
        "variant": label, "repeat": repeat + 1, "exit_status": load.returncode,
        "achieved_rate": summary["achieved_rate"], "counts": counts,
        "passed": verification.get("passed") if verify else None,
        "converged_after_seconds": verification.get("converged_after_seconds"), "lag": lag,
        "schedule_delay": summary.get("schedule_delay"), "load_cpu": summary.get("cpu"),
        "load_cpu_seconds_whole_run": load_cpu, "load_cpu_us_per_message_whole_run": load_cpu * 1e6 / max(counts["sent"], 1),
        "max_depth": max((d for _, d in depths), default=0), "depths": depths, "peak_rss_bytes": peak_rss,
        "service_cpu_seconds": service_cpu, "wall_seconds": wall, "kinds": verification.get("kinds"),
    }
    send_cpu = (summary.get("cpu") or {}).get("microseconds_per_message")
    log(f"repeat {repeat + 1} {label}: {result['achieved_rate']:.0f} msg/s"
        + (f", verify {'passed' if result['passed'] else 'FAILED'} ({result['converged_after_seconds']})"
           f", lag p50/p99 {lag.get('p50')}/{lag.get('p99')} s" if verify else "")
        + f", miner-load CPU {load_cpu:.1f} s ({result['load_cpu_us_per_message_whole_run']:.1f} µs/msg whole run"
        + (f", {send_cpu:.1f} µs/msg sending" if send_cpu else "") + f"), max depth {result['max_depth']}")
    return result


def with_retries(repeat, variant, attempts=3):
    """The broker is shared: another client's test may restart it or close every connection mid-run. Such a
    run says nothing about miner-index, so it is repeated rather than reported."""
    for attempt in range(attempts):
        try:
            return one_run(repeat, *variant)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            log(f"repeat {repeat + 1} {variant[0]} attempt {attempt + 1} disrupted: {error}; retrying in 15 s")
            time.sleep(15)
    raise SystemExit(f"repeat {repeat + 1} {variant[0]} failed {attempts} times")


runs = [with_retries(repeat, variant) for repeat in range(arguments.repeats) for variant in variants]


def ms(value):
    return f"{value * 1000:.0f} ms" if value is not None else "n/a"


def med(values):
    values = [v for v in values if v is not None]
    return median(values) if values else None


interval = arguments.broadcast_interval
target = float(interval[:-2]) / 1000 + 0.1 if interval.endswith("ms") else float(interval.rstrip("s")) + 0.1
print(f"\n{fleet} miners ({arguments.asic} ASIC + {arguments.cpu_gpu} CPU/GPU), --rate {arguments.rate} for "
      f"{arguments.duration}, broadcast interval {interval}, {arguments.repeats} repeats; medians per variant\n")
print("| variant | achieved msg/s | vs requested | verify | lag p50 | lag p95 | lag p99 | generator behind p99 | "
      "miner-load CPU µs/msg (sending) | miner-load CPU µs/msg (whole run) | max queue depth | peak RSS | service CPU |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
summary = {}
for label, _, verify in variants:
    mine = [r for r in runs if r["variant"] == label]
    rate = med([r["achieved_rate"] for r in mine])
    summary[label] = rate
    print(f"| {label} | {rate:.0f} | {rate / arguments.rate:.2f}x | "
          f"{(str(sum(1 for r in mine if r['passed'])) + '/' + str(len(mine)) + ' pass') if verify else '—'} | "
          f"{ms(med([r['lag'].get('p50') for r in mine]))} | {ms(med([r['lag'].get('p95') for r in mine]))} | "
          f"{ms(med([r['lag'].get('p99') for r in mine]))} | "
          f"{ms(med([(r['schedule_delay'] or {}).get('p99') for r in mine]))} | "
          f"{(lambda v: f'{v:.1f}' if v is not None else 'n/a')(med([(r['load_cpu'] or {}).get('microseconds_per_message') for r in mine]))} | "
          f"{med([r['load_cpu_us_per_message_whole_run'] for r in mine]):.1f} | "
          f"{med([r['max_depth'] for r in mine]):.0f} | {med([r['peak_rss_bytes'] for r in mine]) / 2**20:.0f} MiB | "
          f"{med([r['service_cpu_seconds'] / r['wall_seconds'] * 100 for r in mine]):.0f}% of a core |")
if "no-verify" in summary:
    print(f"\nverify / no-verify achieved rate: {summary['verify'] / summary['no-verify']:.3f}x (target >= 0.95x)")
if "baseline" in summary:
    print(f"verify / baseline verify achieved rate: {summary['verify'] / summary['baseline']:.2f}x")
for label in ("verify", "baseline"):
    p99s = [r["lag"].get("p99") for r in runs if r["variant"] == label and r["lag"].get("p99") is not None]
    if p99s:
        print(f"{label}: lag p99 target {target * 1000:.0f} ms, median p99 is {median(p99s) / target:.2f}x the target")
first = runs[0]["depths"]
print("\nqueue depth over time, run 1 (seconds: messages): " + ", ".join(f"{t:.0f}: {d}" for t, d in first[::5]))
write_results("sustained", {"machine": machine(), "arguments": vars(arguments), "runs": runs})
if not arguments.keep:
    delete_topology([QUEUE, DLQ], [EXCHANGE, DLX, *OUTPUTS.values()])
