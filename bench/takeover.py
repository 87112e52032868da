#!/usr/bin/env python3
"""Bench: how long the aggregated snapshots stop when the leader of two miner-index instances sharing one
PostgreSQL store fails, under `miner-load --register --verify --persistent`.

Each round starts a leader and a standby (release builds, a PostgreSQL schema and bench exchanges of their own),
starts the load, injures the leader, and watches `asic_miner_aggregated_index`:
- `kill`: SIGKILL (the process dies, its sockets close at once);
- `stop`: SIGSTOP for --stop-seconds, then SIGCONT (a hung process, or a host that vanished without closing its
  sockets: only missed heartbeats, the lease and TCP keepalives can tell).
It reports the longest silence between consecutive snapshots, the time from the fault to the first snapshot
under the new epoch, whether verify passed, and whether any epoch had two publishers."""
import argparse
import json
import os
import signal
import subprocess
import threading
import time
import uuid

from benchlib import AMQP_URL, binary, delete_topology, exchange_flags, log, machine, median, output_exchanges, \
    stop, write_results

parser = argparse.ArgumentParser()
parser.add_argument("--mode", choices=["kill", "stop", "both"], default="both")
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--asic", type=int, default=1000)
parser.add_argument("--cpu-gpu", type=int, default=200)
parser.add_argument("--report-interval", default="2s")
parser.add_argument("--leader-lease", default="10s")
parser.add_argument("--stop-seconds", type=float, default=30)
parser.add_argument("--postgres-url", default=os.environ.get(
    "MINER_INDEX_TEST_POSTGRES_URL", "postgres://miner_index:miner_index@127.0.0.1:5432/miner_index"))
arguments = parser.parse_args()

import pika  # noqa: E402  (after argparse, so that --help works without it)

PREFIX = "bench.takeover"
QUEUE, EXCHANGE, DLX, DLQ = f"{PREFIX}.logs", f"{PREFIX}.in", f"{PREFIX}.dlx", f"{PREFIX}.dlq"
OUTPUTS = output_exchanges(PREFIX)


class Watcher(threading.Thread):
    """Records (arrival time, leader_epoch, publisher) of every aggregated ASIC snapshot."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen = []
        self.ready = threading.Event()
        self.stopping = False

    def run(self):
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        channel = connection.channel()
        channel.exchange_declare(OUTPUTS["asic-aggregated"], exchange_type="fanout", durable=True)
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, OUTPUTS["asic-aggregated"])
        self.ready.set()
        while not self.stopping:
            for method, properties, _ in channel.consume(queue, auto_ack=True, inactivity_timeout=0.2):
                if method is None:
                    break
                headers = properties.headers or {}
                self.seen.append((time.monotonic(), headers.get("leader_epoch"), headers.get("publisher")))
        connection.close()


def start_instance(name, schema, folder):
    state = f"{arguments.postgres_url}?sslmode=disable&schema={schema}"
    command = [binary("miner-index"), "--amqp-url", AMQP_URL, "--queue", QUEUE, "--exchange", EXCHANGE,
               "--dead-letter-exchange", DLX, "--dead-letter-queue", DLQ, "--state", state, "--http-port", "0",
               "--leader-lease", arguments.leader_lease, *exchange_flags(OUTPUTS)]
    output = open(os.path.join(folder, f"{name}.log"), "w")
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)


def log_text(folder, name):
    with open(os.path.join(folder, f"{name}.log")) as text:
        return text.read()


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def one_round(mode, index):
    schema = f"takeover_{uuid.uuid4().hex[:8]}"
    folder = f"/tmp/bench-takeover-{schema}"
    os.makedirs(folder)
    watcher = Watcher()
    watcher.start()
    watcher.ready.wait(30)
    leader = start_instance("leader", schema, folder)
    wait_for(lambda: "took over as leader" in log_text(folder, "leader"), 60, "the leader")
    standby = start_instance("standby", schema, folder)
    wait_for(lambda: "standing by" in log_text(folder, "standby"), 60, "the standby")
    duration = 25 + (arguments.stop_seconds if mode == "stop" else 0)
    load = subprocess.Popen(
        [binary("miner-load"), "--amqp-url", AMQP_URL, "--exchange", EXCHANGE, "--asic", str(arguments.asic),
         "--cpu-gpu", str(arguments.cpu_gpu), "--register", "--persistent", "--verify", "--json", "--quiet",
         "--report-interval", arguments.report_interval, "--duration", f"{duration:g}s", *exchange_flags(OUTPUTS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)
    epoch_before = watcher.seen[-1][1] if watcher.seen else None
    fault = time.monotonic()
    if mode == "kill":
        leader.send_signal(signal.SIGKILL)
        leader.wait()
    else:
        leader.send_signal(signal.SIGSTOP)
    wait_for(lambda: any(at > fault and epoch != epoch_before for at, epoch, _ in watcher.seen),
             arguments.stop_seconds + 60, "a snapshot under a new epoch")
    if mode == "stop":
        remaining = fault + arguments.stop_seconds - time.monotonic()
        time.sleep(max(0.0, remaining))
        leader.send_signal(signal.SIGCONT)
        wait_for(lambda: "lost the leadership" in log_text(folder, "leader"), 60, "the old leader to step down")
    out, err = load.communicate(timeout=600)
    summary = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err[-2000:]}
    watcher.stopping = True
    watcher.join(10)
    for process in (leader, standby):
        stop(process)
    times = [at for at, _, _ in watcher.seen]
    around = [b - a for a, b in zip(times, times[1:]) if b > fault - 2]
    first_new = min(at for at, epoch, _ in watcher.seen if at > fault and epoch != epoch_before)
    publishers = {}
    for _, epoch, publisher in watcher.seen:
        publishers.setdefault(epoch, set()).add(publisher)
    result = {
        "mode": mode, "round": index, "longest_gap_s": round(max(around), 3),
        "fault_to_new_epoch_s": round(first_new - fault, 3),
        "epochs": sorted(e for e in publishers if e is not None),
        "one_publisher_per_epoch": all(len(p) == 1 for p in publishers.values()),
        "verify_passed": bool((summary.get("verification") or {}).get("passed")),
        "snapshots": len(times),
    }
    log(json.dumps(result))
    return result


def main():
    modes = ["kill", "stop"] if arguments.mode == "both" else [arguments.mode]
    results = []
    try:
        for index in range(arguments.rounds):
            for mode in modes:  # alternating, so that both modes see the same machine load
                results.append(one_round(mode, index))
    finally:
        delete_topology([QUEUE, DLQ], [EXCHANGE, DLX, *OUTPUTS.values()])
    summary = {}
    for mode in modes:
        rounds = [r for r in results if r["mode"] == mode]
        summary[mode] = {
            "rounds": len(rounds),
            "longest_gap_s": {"median": median([r["longest_gap_s"] for r in rounds]),
                              "max": max(r["longest_gap_s"] for r in rounds)},
            "fault_to_new_epoch_s": {"median": median([r["fault_to_new_epoch_s"] for r in rounds]),
                                     "max": max(r["fault_to_new_epoch_s"] for r in rounds)},
            "verify_passed": sum(r["verify_passed"] for r in rounds),
            "one_publisher_per_epoch": all(r["one_publisher_per_epoch"] for r in rounds),
        }
    print(json.dumps({"machine": machine(), "leader_lease": arguments.leader_lease, "summary": summary}, indent=2))
    write_results("takeover", {"arguments": vars(arguments), "rounds": results, "summary": summary})
    failed = [r for r in results if not r["verify_passed"] or not r["one_publisher_per_epoch"]]
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
