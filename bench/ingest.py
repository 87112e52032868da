#!/usr/bin/env python3
"""Bench 1, ingest vs the physical limit: pre-fill the input queue with 200,000 mixed logs, then time how fast
each contender drains it, on the same queue and broker, repeated in rounds whose order rotates:

  c-consumer    the physical limit: bench/bare_consumer.c, rabbitmq-c alone, no Swift, ack (multiple) every 50
  amqp-drain-bench  amqp-drain-bench drain: our AMQP layer, ack (multiple) per batch, nothing else ("bare")
  miner-index   the release executable: decode, validate, apply to the index actors, ack (multiple); in memory
                (--state none)
  miner-index-sqlite  the same with its default SQLite state store (a fresh file per run in a temporary folder)
  pika          the Python peer: pika + json.loads + dict update, ack (multiple) every 50
  miner-index-baseline  miner-index built from another commit (--baseline-bin FOLDER), so that a change is
                measured side by side with what it changes, in the same rounds
  miner-index-baseline-sqlite  the same with its default SQLite state store

The drain is timed from outside, identically for all: from the first poll that sees the queue shrink to the
first that sees it empty (amqp-drain-bench watch-drain, polling a passive declare every 5 ms). Every contender's
CPU time is its own process's (getrusage at its exit, or /proc for miner-index, read when the queue is empty).
Ratios are against the C consumer: of the medians, and the median of each round's ratio (the contenders of one
round run back to back, so a round's ratio is the fairest pairing on a machine shared with other work).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import (AMQP_URL, binary, cpu_seconds, delete_topology, exchange_flags, finish_watch, log, machine,
                      median, output_exchanges, run_json, start_watch, status_bytes, stop, write_results)

parser = argparse.ArgumentParser()
parser.add_argument("--messages", type=int, default=200_000)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--asic", type=int, default=10_000)
parser.add_argument("--cpu-gpu", type=int, default=10_000)
parser.add_argument("--contenders", default="c-consumer,amqp-drain-bench,miner-index,miner-index-sqlite")
parser.add_argument("--prefetch", type=int, default=500, help="the same prefetch for every contender")
parser.add_argument("--keep", action="store_true", help="keep the bench queues and exchanges afterwards")
parser.add_argument("--queue-type", default="classic", choices=["classic", "quorum"],
                    help="the input queue's type (its own queue and exchanges per type)")
parser.add_argument("--baseline-bin", help="the folder of the miner-index executable for miner-index-baseline")
arguments = parser.parse_args()

PREFIX = "bench.ingest" if arguments.queue_type == "classic" else f"bench.ingest.{arguments.queue_type}"
QUEUE, EXCHANGE, DLX, DLQ = f"{PREFIX}.logs", f"{PREFIX}.in", f"{PREFIX}.dlx", f"{PREFIX}.dlq"
OUTPUTS = output_exchanges(PREFIX)
N = arguments.messages


def bench_tool(*args):
    subprocess.run([binary("amqp-drain-bench"), *args, "--amqp-url", AMQP_URL, "--queue", QUEUE], check=True)


def prefill(seed):
    bench_tool("purge", "--also", DLQ)
    started = time.monotonic()
    summary = run_json([binary("miner-load"), "--amqp-url", AMQP_URL, "--exchange", EXCHANGE,
                        "--asic", str(arguments.asic), "--cpu-gpu", str(arguments.cpu_gpu), "--rate", "max",
                        "--count", str(N), "--seed", str(seed), "--quiet", "--json"])
    counts = summary["counts"]
    if counts["confirmed"] != N or counts["unroutable"]:
        raise RuntimeError(f"prefill incomplete: {counts}")
    return {"seconds": time.monotonic() - started, "rate": summary["achieved_rate"]}


def drain_miner_index(state="none", executable=None):
    watcher = start_watch(QUEUE, N)
    service = subprocess.Popen(
        [executable or binary("miner-index"), "--amqp-url", AMQP_URL, "--queue", QUEUE, "--exchange", EXCHANGE,
         "--dead-letter-exchange", DLX, "--dead-letter-queue", DLQ, "--offline-after", "1h", "--http-port", "0",
         "--log-level", "warning", "--prefetch", str(arguments.prefetch), "--state", state,
         "--queue-type", arguments.queue_type, *exchange_flags(OUTPUTS)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        result = finish_watch(watcher)
        result["cpu_seconds"] = cpu_seconds(service.pid)
        result["peak_rss_bytes"] = status_bytes(service.pid, "VmHWM")
    finally:
        stop(service)
    return result


def drain_miner_index_sqlite(executable=None):
    folder = tempfile.mkdtemp(prefix="bench-ingest-state-")
    try:
        return drain_miner_index(state=os.path.join(folder, "miner-index.sqlite"), executable=executable)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def baseline_executable():
    if not arguments.baseline_bin:
        sys.exit("the baseline contenders need --baseline-bin")
    return os.path.join(arguments.baseline_bin, "miner-index")


def drain_miner_index_baseline():
    return drain_miner_index(executable=baseline_executable())


def drain_miner_index_baseline_sqlite():
    return drain_miner_index_sqlite(executable=baseline_executable())


def drain_bare():
    watcher = start_watch(QUEUE, N)
    consumer = subprocess.Popen(
        [binary("amqp-drain-bench"), "drain", "--amqp-url", AMQP_URL, "--queue", QUEUE, "--expect", str(N),
         "--prefetch", str(arguments.prefetch)],
        stdout=subprocess.PIPE, text=True)
    result = finish_watch(watcher)
    out, _ = consumer.communicate(timeout=120)
    result["cpu_seconds"] = run_json_line(out)["cpu_seconds"]
    return result


def drain_c_consumer():
    watcher = start_watch(QUEUE, N)
    consumer = subprocess.Popen(
        [binary("bare-consumer"), "--amqp-url", AMQP_URL, "--queue", QUEUE, "--expect", str(N),
         "--prefetch", str(arguments.prefetch), "--ack-every", "50"],
        stdout=subprocess.PIPE, text=True)
    result = finish_watch(watcher)
    out, _ = consumer.communicate(timeout=120)
    result["cpu_seconds"] = run_json_line(out)["cpu_seconds"]
    return result


def drain_pika():
    watcher = start_watch(QUEUE, N)
    consumer = subprocess.Popen(
        [sys.executable, os.path.join(os.path.dirname(__file__), "pika_consumer.py"), "--url", AMQP_URL,
         "--queue", QUEUE, "--expect", str(N), "--prefetch", str(arguments.prefetch)],
        stdout=subprocess.PIPE, text=True)
    result = finish_watch(watcher)
    out, _ = consumer.communicate(timeout=600)
    result["cpu_seconds"] = run_json_line(out)["cpu_seconds"]
    return result


def run_json_line(text):
    import json
    return json.loads(text.strip().splitlines()[-1])


CONTENDERS = {"c-consumer": drain_c_consumer, "amqp-drain-bench": drain_bare, "miner-index": drain_miner_index,
              "miner-index-sqlite": drain_miner_index_sqlite, "pika": drain_pika,
              "miner-index-baseline": drain_miner_index_baseline,
              "miner-index-baseline-sqlite": drain_miner_index_baseline_sqlite}
LIMIT = "c-consumer"
chosen = [{"bare": "amqp-drain-bench"}.get(name, name) for name in arguments.contenders.split(",") if name]
if "pika" in chosen:
    try:
        import pika  # noqa: F401
    except ImportError:
        log("installing pika for the Python peer")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pika"], check=True)

subprocess.run([binary("amqp-drain-bench"), "declare-input", "--amqp-url", AMQP_URL, "--queue", QUEUE,
                "--exchange", EXCHANGE, "--dead-letter-exchange", DLX, "--dead-letter-queue", DLQ,
                "--queue-type", arguments.queue_type], check=True)
runs = {name: [] for name in chosen}
prefills = []
for repeat in range(arguments.repeats):
    order = chosen[repeat % len(chosen):] + chosen[:repeat % len(chosen)]
    for name in order:
        fill = prefill(seed=repeat * 10 + len(runs[name]) + 1)
        prefills.append(fill)
        result = CONTENDERS[name]()
        result["cpu_us_per_message"] = result["cpu_seconds"] / N * 1e6
        result["round"] = repeat
        result["load_average"] = os.getloadavg()[0]
        runs[name].append(result)
        log(f"round {repeat + 1} {name:18s} {result['rate']:9.0f} msg/s  {result['cpu_us_per_message']:6.2f} us CPU/msg"
            f"   (prefill {fill['rate']:.0f} msg/s, load {result['load_average']:.2f})")

medians = {name: {"rate": median([r["rate"] for r in results]),
                  "cpu_us_per_message": median([r["cpu_us_per_message"] for r in results])}
           for name, results in runs.items()}
print(f"\n{N} messages, {arguments.asic} ASIC + {arguments.cpu_gpu} CPU/GPU miners, prefetch {arguments.prefetch}, {arguments.queue_type} queue, "
      f"{arguments.repeats} repeats (medians)\n")
if "miner-index" in medians and "miner-index-sqlite" in medians:
    print(f"with the SQLite store / in memory: drain rate {medians['miner-index-sqlite']['rate'] / medians['miner-index']['rate']:.3f}x, "
          f"CPU per message {medians['miner-index-sqlite']['cpu_us_per_message'] / medians['miner-index']['cpu_us_per_message']:.3f}x\n")
limit = medians.get(LIMIT)


def round_ratios(name, key):
    """This contender's figure over the C consumer's in the same round, per round."""
    limits = {r["round"]: r[key] for r in runs.get(LIMIT, [])}
    return [r[key] / limits[r["round"]] for r in runs[name] if limits.get(r["round"])]


print("| contender | drain rate (msg/s) | rate vs C | per-round rate vs C (median) | CPU per message | CPU vs C "
      "| per-round CPU vs C (median) | runs (msg/s) |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for name in chosen:
    figures = medians[name]
    rate_ratio = f"{figures['rate'] / limit['rate']:.2f}x" if limit else "n/a"
    cpu_ratio = f"{figures['cpu_us_per_message'] / limit['cpu_us_per_message']:.2f}x" if limit else "n/a"
    round_rate = f"{median(round_ratios(name, 'rate')):.2f}x" if limit else "n/a"
    round_cpu = f"{median(round_ratios(name, 'cpu_us_per_message')):.2f}x" if limit else "n/a"
    rates = ", ".join(f"{r['rate']:.0f}" for r in runs[name])
    print(f"| {name} | {figures['rate']:.0f} | {rate_ratio} | {round_rate} | {figures['cpu_us_per_message']:.2f} us "
          f"| {cpu_ratio} | {round_cpu} | {rates} |")
loads = [r["load_average"] for results in runs.values() for r in results]
print(f"\nload average (1 min) at the end of each drain: median {median(loads):.2f}, {min(loads):.2f}-{max(loads):.2f}")
print(f"\nprefill by miner-load --rate max: median {median([p['rate'] for p in prefills]):.0f} msg/s confirmed")
if "miner-index" in runs:
    print(f"miner-index peak RSS: {median([r['peak_rss_bytes'] for r in runs['miner-index']]) / 2**20:.0f} MiB")
write_results("ingest", {"machine": machine(), "messages": N, "queue_type": arguments.queue_type, "runs": runs,
                         "medians": medians, "prefills": prefills})
if not arguments.keep:
    delete_topology([QUEUE, DLQ], [EXCHANGE, DLX, *OUTPUTS.values()])
