#!/usr/bin/env python3
"""Chaos suite: a steady `miner-load --register --verify --persistent` load against a real miner-index (release
build, SQLite state in a temporary file, classic queue unless --queue-type quorum), and one fault at a time:

  broker-restart    rabbitmqctl stop_app, a pause, rabbitmqctl start_app
  close-connections rabbitmqctl close_all_connections three times in 10 s
  sigkill           SIGKILL of miner-index, restarted at once on the same state file
  memory-alarm      rabbitmqctl set_vm_memory_high_watermark 0 for 10 s, then the previous value again
  sigstop           SIGSTOP of miner-index for longer than its AMQP heartbeat timeout (heartbeat=5), then SIGCONT
  poison            valid logs whose AMQP timestamp is 2^62 or 2^64-1, a body that is not JSON and a delivery whose
                    headers rabbitmq-c cannot decode, published in the middle of the load

A scenario passes when miner-load's verify PASSED, miner-index never died on its own, the input queue drained, and
the messages balance: every message the broker confirmed was applied or dead-lettered, counted from miner-index's
/metrics (summed over its processes) and from the dead-letter queue.

Recovery time: from the moment the suite starts the fault to the arrival of the first aggregated snapshot, of
each miner kind, that reflects a lag probe miner-load published after the fault ended (miner-load
--probe-timeline). The input queue is FIFO, so that snapshot holds every message the broker confirmed before
that probe: the dashboard is current again. See docs/RELIABILITY.md.

Usage: bench/build.sh, then `python3 bench/chaos.py --quick` (CI: every scenario in about three minutes) or
`python3 bench/chaos.py` (full). The broker is the one at AMQP_URL, which must be on this machine; rabbitmqctl
must reach its node (set RABBITMQ_NODENAME for a node that is not the default one). Exit status 1 if any
scenario fails.
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import amqp091
from benchlib import AMQP_URL, BIN, exchange_flags, log, machine, output_exchanges, write_results

SCENARIOS = ["broker-restart", "close-connections", "sigkill", "memory-alarm", "sigstop", "poison"]
HEARTBEAT = 5

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--quick", action="store_true", help="short durations, every scenario (CI)")
parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset, in this order")
parser.add_argument("--bin-dir", help="folder holding miner-index and miner-load (default: the release products "
                    "of bench/build.sh, $BENCH_SCRATCH/release)")
parser.add_argument("--rate", type=int, default=3000, help="messages per second the fleet sends (its own pace)")
parser.add_argument("--report-interval", type=float, default=5.0, help="seconds between two logs of one miner")
parser.add_argument("--bad-fraction", type=float, default=0.002, help="share of malformed messages in the load")
parser.add_argument("--queue-type", default="classic", choices=["classic", "quorum"])
parser.add_argument("--keep", action="store_true", help="keep the temporary folders (logs, state files)")
arguments = parser.parse_args()

QUICK = arguments.quick
WARMUP = 4 if QUICK else 20           # seconds of load before the fault
TAIL = 8 if QUICK else 40             # seconds of load after the fault ends (more than one report interval)
BROKER_PAUSE = 4 if QUICK else 10     # stop_app ... start_app
STOP_SECONDS = 16 if QUICK else 25    # SIGSTOP: the broker gives up after two missed heartbeats, 10 to 15 s
ALARM_SECONDS = 10
# How long each fault takes, with the rabbitmqctl calls (about 2 s each on a busy 2-core machine): sets the
# load's duration, so that at least TAIL seconds of load follow the fault.
FAULT_BUDGET = {"broker-restart": BROKER_PAUSE + 8, "close-connections": 14, "sigkill": 2,
                "memory-alarm": ALARM_SECONDS + 6, "sigstop": STOP_SECONDS + 1, "poison": 1}
FLEET = int(arguments.rate * arguments.report_interval)
PREFETCH = 500  # miner-index's default, passed explicitly: the SIGKILL balance allows one batch of it
ASIC = FLEET * 4 // 5
CPU_GPU = FLEET - ASIC


def fail(message):
    log(f"chaos: {message}")
    sys.exit(2)


def binary(name):
    folder = arguments.bin_dir or BIN
    path = os.path.join(folder, name)
    if not os.access(path, os.X_OK):
        fail(f"{path} is missing; run bench/build.sh first (or pass --bin-dir)")
    return path


def with_query(url, key, value):
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, v) for k, v in query if k != key] + [(key, str(value))]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def ctl(*args, timeout=120):
    """rabbitmqctl against the node of AMQP_URL (RABBITMQ_NODENAME and friends come from the environment)."""
    completed = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} exited {completed.returncode}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def check_broker():
    """Refuses anything but a broker on this machine whose node rabbitmqctl reaches: the suite stops and
    restarts that node."""
    host = urllib.parse.urlsplit(AMQP_URL).hostname
    port = urllib.parse.urlsplit(AMQP_URL).port or 5672
    if host not in ("127.0.0.1", "localhost", "::1"):
        fail(f"AMQP_URL must point at a broker on 127.0.0.1 (got {host}): the suite restarts it")
    status = json.loads(ctl("status", "--formatter", "json"))
    ports = [listener.get("port") for listener in status.get("listeners", []) if listener.get("protocol") == "amqp"]
    if port not in ports:
        fail(f"rabbitmqctl reaches node {status.get('node')}, which listens on {ports}, not on {port} of AMQP_URL; "
             "set RABBITMQ_NODENAME to the node serving AMQP_URL")
    alarms = status.get("alarms") or []
    if alarms:
        fail(f"the broker has alarms already: {alarms}")
    return next((listener.get("node") for listener in status.get("listeners", [])), "the node")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_metrics(text):
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        try:
            values[name] = float(value)
        except ValueError:
            continue
    return values


def total(metrics, name):
    return sum(value for key, value in metrics.items() if key == name or key.startswith(name + "{"))


class Service:
    """One miner-index process after another on the same state file, HTTP port and log; a thread reads /metrics
    every 200 ms, so that the counters of a killed process are known up to its last reading."""

    def __init__(self, command, port, log_path):
        self.command = command
        self.port = port
        self.log = open(log_path, "ab")
        self.process = None
        self.finished = []       # the last counters of each process that is gone, and how it ended
        self.readings = []       # the last two readings of the running process: (requested at, metrics)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.scraper = threading.Thread(target=self.scrape_forever, daemon=True)

    def start(self):
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=self.log)
        with self.lock:
            self.readings = []
        if not self.scraper.is_alive():
            self.scraper.start()

    def get(self, path, timeout=1.0):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as response:
            return response.status, response.read().decode()

    def scrape(self):
        requested_at = time.time()
        try:
            _, body = self.get("/metrics", timeout=0.5)
        except (OSError, urllib.error.URLError):
            return None
        metrics = parse_metrics(body)
        with self.lock:
            self.readings = (self.readings + [(requested_at, metrics)])[-2:]
        return metrics

    def last_reading(self):
        with self.lock:
            return self.readings[-1] if self.readings else (time.time(), {})

    def scrape_forever(self):
        while not self.stopping.is_set():
            if self.process and self.process.poll() is None:
                self.scrape()
            time.sleep(0.2)

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"miner-index exited {self.process.returncode} before it was ready")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"miner-index not ready within {timeout} s")

    def kill(self):
        """Reads the counters once more, then SIGKILL. What the process handles between the request for that
        reading and its death is not counted. The balance allows for it: the batch it may hold at the reading (the
        counters move a whole batch at a time, and a batch is at most the prefetch window), plus what could arrive
        in that gap at the higher of its measured and the offered rate."""
        self.scrape()
        with self.lock:
            readings = list(self.readings)
        self.process.send_signal(signal.SIGKILL)
        killed_at = time.time()
        self.process.wait()
        (read_at, metrics) = readings[-1] if readings else (killed_at, {})
        rate = float(arguments.rate)
        if len(readings) == 2 and readings[1][0] - readings[0][0] > 0.05:
            measured = (handled(readings[1][1]) - handled(readings[0][1])) / (readings[1][0] - readings[0][0])
            rate = max(rate, measured)
        unread_seconds = killed_at - read_at
        self.finished.append({"metrics": metrics, "how": "SIGKILL", "unread_seconds": unread_seconds,
                              "unread_allowance": PREFETCH + math.ceil(rate * unread_seconds)})

    def stop(self):
        """SIGTERM: it finishes and acknowledges what it received; counters are read until the HTTP server goes."""
        self.scrape()
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while self.process.poll() is None and time.monotonic() < deadline:
            self.scrape()
            time.sleep(0.05)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.finished.append({"metrics": self.last_reading()[1], "how": f"SIGTERM, exit {self.process.returncode}"})

    def close(self):
        self.stopping.set()
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


def handled(metrics):
    return (total(metrics, "miner_index_messages_applied_total")
            + total(metrics, "miner_index_messages_dead_lettered_total"))


class Scenario:
    """Names, temporary folder and processes of one scenario. Queues and exchanges are named after it, so a run
    never touches the default topology of another miner-index on the same broker; they are deleted afterwards."""

    def __init__(self, name):
        self.name = name
        self.prefix = f"chaos.{name}.{os.getpid()}"
        self.queue, self.exchange = f"{self.prefix}.logs", f"{self.prefix}.in"
        self.dead_letter_exchange, self.dead_letter_queue = f"{self.prefix}.dlx", f"{self.prefix}.dlq"
        self.outputs = output_exchanges(self.prefix)
        self.folder = tempfile.mkdtemp(prefix=f"chaos-{name}-")
        self.state = os.path.join(self.folder, "miner-index.sqlite")
        self.port = free_port()
        self.injected = {"confirmed": 0, "dead_letter_expected": 0}
        command = [binary("miner-index"), "--amqp-url", with_query(AMQP_URL, "heartbeat", HEARTBEAT),
                   "--queue", self.queue, "--queue-type", arguments.queue_type, "--exchange", self.exchange,
                   "--dead-letter-exchange", self.dead_letter_exchange, "--dead-letter-queue", self.dead_letter_queue,
                   "--state", self.state, "--prefetch", str(PREFETCH),
                   "--http-host", "127.0.0.1", "--http-port", str(self.port),
                   "--log-level", "info", *exchange_flags(self.outputs)]
        self.service = Service(command, self.port, os.path.join(self.folder, "miner-index.log"))
        self.duration = WARMUP + FAULT_BUDGET[name] + TAIL
        self.load_command = [
            binary("miner-load"), "--amqp-url", AMQP_URL, "--exchange", self.exchange, "--asic", str(ASIC),
            "--cpu-gpu", str(CPU_GPU), "--report-interval", f"{arguments.report_interval:g}s",
            "--bad-fraction", str(arguments.bad_fraction), "--duration", f"{self.duration}s", "--register", "--verify",
            "--persistent", "--probe-timeline", "--verify-timeout", "90s", "--reconnect-timeout", "90s",
            "--seed", str(SCENARIOS.index(name) + 1), "--json", *exchange_flags(self.outputs)]

    def depth(self, queue):
        with amqp091.Connection(AMQP_URL) as connection:
            return connection.queue_depth(queue)[0]

    def cleanup(self):
        try:
            with amqp091.Connection(AMQP_URL) as connection:
                for queue in (self.queue, self.dead_letter_queue):
                    connection.delete_queue(queue)
                for exchange in (self.exchange, self.dead_letter_exchange, *self.outputs.values()):
                    connection.delete_exchange(exchange)
        except (OSError, amqp091.AMQPError) as error:
            log(f"chaos: could not delete the topology of {self.name}: {error}")
        if not arguments.keep:
            shutil.rmtree(self.folder, ignore_errors=True)


# ---- faults: each returns (started_at, ended_at) on the wall clock ----------------------------------------------

def broker_restart(scenario):
    started = time.time()
    ctl("stop_app")
    try:
        time.sleep(BROKER_PAUSE)
    finally:
        ctl("start_app")
    return started, time.time()


def close_connections(scenario):
    started = time.time()
    for round_ in range(3):
        ctl("close_all_connections", f"chaos suite: close {round_ + 1} of 3")
        if round_ < 2:
            time.sleep(max(0.0, started + 5 * (round_ + 1) - time.time()))
    return started, time.time()


def sigkill(scenario):
    started = time.time()
    scenario.service.kill()
    scenario.service.start()  # the same state file: its lock went away with the killed process
    return started, time.time()


def memory_alarm(scenario):
    previous = ctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().")
    if previous.startswith("{absolute,"):
        restore = ["absolute", previous[len("{absolute,"):].rstrip("}").strip()]
    else:
        restore = [previous]
    started = time.time()
    ctl("set_vm_memory_high_watermark", "0")
    try:
        time.sleep(max(0.0, started + ALARM_SECONDS - time.time()))
    finally:
        ctl("set_vm_memory_high_watermark", *restore)
    return started, time.time()


def sigstop(scenario):
    process = scenario.service.process
    started = time.time()
    process.send_signal(signal.SIGSTOP)
    try:
        time.sleep(STOP_SECONDS)
    finally:
        process.send_signal(signal.SIGCONT)
    return started, time.time()


POISON_LOG = {"asic_miner_id": 1, "hashrate_5_min": 110.5, "hashrate_uom": "TH/s", "uptime": "01:02:03:04",
              "pool_1_address": "stratum+tcp://pool:3333", "pool_1_user": "farm.1", "pool_1_state": "Alive",
              "hashboard_1_temp_1": 65, "fan_1_speed": 5400, "lan_ip": "10.0.0.1", "coin_name": "bitcoin",
              "power": 3250, "inserted_at": "2000-01-01T00:00:00Z"}


def poison(scenario):
    """Valid logs of fleet miners, but from the year 2000 (so they change nothing the load's verify could see),
    with AMQP timestamps of 2^62 and 2^64-1 seconds; a body that is not JSON; and a delivery with a header whose
    name is empty, which rabbitmq-c cannot decode (rejected without requeue, so it reaches the dead letters)."""
    cpu_gpu_log = {"cpu_gpu_miner_id": 1, "cpu_coin_name": "monero", "cpu_algorithm": "randomx", "cpu_hashrate": 20,
                   "cpu_hashrate_uom": "KH/s", "cpu_power": 100, "inserted_at": "2000-01-01T00:00:00Z"}
    messages = [
        ("asic_miner.log", json.dumps(POISON_LOG), {"timestamp": 2 ** 62}, False),
        ("asic_miner.log", json.dumps(POISON_LOG), {"timestamp": 2 ** 64 - 1}, False),
        ("cpu_gpu_miner.log", json.dumps(cpu_gpu_log), {"timestamp": 2 ** 62}, False),
        ("asic_miner.log", "{\"asic_miner_id\": 1, not json", {}, True),
        ("asic_miner.log", json.dumps(POISON_LOG), {"headers": [("", "empty name"), ("deep", {"a": {"b": 1}})]}, True),
    ]
    started = time.time()
    with amqp091.Connection(AMQP_URL) as connection:
        for number, (routing_key, body, properties, dead_letter) in enumerate(messages):
            if not connection.publish_confirmed(scenario.exchange, routing_key, body,
                                                message_id=f"chaos-poison-{number}", **properties):
                raise RuntimeError(f"poison message {number} was unroutable")
            scenario.injected["confirmed"] += 1
            scenario.injected["dead_letter_expected"] += dead_letter
    return started, time.time()


FAULTS = {"broker-restart": broker_restart, "close-connections": close_connections, "sigkill": sigkill,
          "memory-alarm": memory_alarm, "sigstop": sigstop, "poison": poison}


# ---- one scenario -----------------------------------------------------------------------------------------------

def wait_for(condition, timeout, what, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def recovery(summary, started, ended):
    """Seconds from the start of the fault to the first aggregated snapshot, of every kind, that reflects a probe
    published after the fault ended; and the same from the end of the fault."""
    arrivals = []
    for kind in summary["verification"]["kinds"]:
        after = [probe for probe in kind.get("probe_timeline") or [] if probe["sent_at"] >= ended]
        if not after or after[0].get("reflected_at") is None:
            return None
        arrivals.append(after[0]["reflected_at"])
    recovered_at = max(arrivals)
    return {"from_fault_start": recovered_at - started, "from_fault_end": recovered_at - ended}


def steady_lag(summary, before):
    """Median publish-to-snapshot lag of the probes sent before the fault, for comparison."""
    lags = sorted(probe["reflected_at"] - probe["sent_at"] for kind in summary["verification"]["kinds"]
                  for probe in kind.get("probe_timeline") or []
                  if probe["sent_at"] < before and probe.get("reflected_at") is not None)
    return lags[len(lags) // 2] if lags else None


def run(name):
    scenario = Scenario(name)
    result = {"scenario": name, "problems": [], "load_average_before": os.getloadavg()[0]}
    problems = result["problems"]
    load = None
    log(f"chaos: {name}: miner-index on 127.0.0.1:{scenario.port}, state {scenario.state}, "
        f"load {FLEET} miners at {arguments.rate} msg/s for {scenario.duration} s")
    try:
        scenario.service.start()
        scenario.service.wait_ready()
        load_log = open(os.path.join(scenario.folder, "miner-load.log"), "wb")
        load = subprocess.Popen(scenario.load_command, stdout=subprocess.PIPE, stderr=load_log)
        # The send phase starts once every upsert is confirmed; the fault comes WARMUP seconds into it.
        wait_for(lambda: handled(scenario.service.last_reading()[1]) >= FLEET or load.poll() is not None, 120,
                 "the fleet's registration")
        sending_since = time.time()
        time.sleep(WARMUP)
        if load.poll() is not None:
            raise RuntimeError(f"miner-load exited {load.returncode} before the fault")
        log(f"chaos: {name}: fault")
        started, ended = FAULTS[name](scenario)
        result["fault"] = {"started_at": started, "ended_at": ended, "seconds": ended - started}
        log(f"chaos: {name}: fault over after {ended - started:.1f} s; waiting for miner-load")
        out, _ = load.communicate(timeout=scenario.duration + 300)
        load_log.close()
        if not out.strip():
            raise RuntimeError(f"miner-load exited {load.returncode} without a summary "
                               f"(see {os.path.join(scenario.folder, 'miner-load.log')})")
        summary = json.loads(out.strip().splitlines()[-1])
        result["load_exit_status"] = load.returncode
        verification = summary.get("verification") or {}
        result["verify_passed"] = bool(verification.get("passed"))
        result["converged_after_seconds"] = verification.get("converged_after_seconds")
        result["achieved_rate"] = summary["achieved_rate"]
        result["counts"] = summary["counts"]
        result["recovery"] = recovery(summary, started, ended) if verification else None
        result["steady_lag_seconds"] = steady_lag(summary, started) if verification else None
        result["tail_seconds"] = sending_since + scenario.duration - ended
        if not result["verify_passed"]:
            problems.append("verify FAILED: " + "; ".join(
                [difference for kind in verification.get("kinds", []) for difference in kind.get("differences", [])]
                + [f"{kind.get('kind')} rebuilt index: {(kind.get('rebuilt_index') or {}).get('difference')}"
                   for kind in verification.get("kinds", [])
                   if not (kind.get("rebuilt_index") or {}).get("matched", True)]))
        if result["recovery"] is None:
            problems.append("no snapshot reflected a probe published after the fault")
        if result["tail_seconds"] < arguments.report_interval:
            problems.append(f"only {result['tail_seconds']:.1f} s of load after the fault, less than one report interval")
        counts = summary["counts"]
        if counts["nacked"] or counts["failed"] or counts["unroutable"]:
            problems.append(f"miner-load lost messages: nacked {counts['nacked']}, failed {counts['failed']}, "
                            f"unroutable {counts['unroutable']} ({counts.get('last_failure')})")

        # Everything confirmed must leave the input queue: applied, or dead-lettered.
        if scenario.service.process.poll() is not None:
            problems.append(f"miner-index exited {scenario.service.process.returncode} on its own")
        else:
            def drained():
                history = scenario.service.readings
                return (scenario.depth(scenario.queue) == 0 and len(history) == 2
                        and handled(history[0][1]) == handled(history[1][1]))
            wait_for(drained, 120, "the input queue to drain", every=0.5)
            scenario.service.stop()
        result["dead_letter_queue_depth"] = scenario.depth(scenario.dead_letter_queue)
        result.update(balance(scenario, counts, result["dead_letter_queue_depth"], problems))
    except (RuntimeError, OSError, subprocess.TimeoutExpired, amqp091.AMQPError, json.JSONDecodeError) as error:
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        if load and load.poll() is None:
            load.kill()
            load.wait()
        scenario.service.close()
        result["miner_index_log"] = os.path.join(scenario.folder, "miner-index.log")
        if problems:
            print_log_excerpts(scenario.folder)
        scenario.cleanup()
    result["load_average_after"] = os.getloadavg()[0]
    result["passed"] = not problems
    log(f"chaos: {name}: {'PASSED' if result['passed'] else 'FAILED: ' + '; '.join(problems)}")
    return result


CONNECTION_LINE = re.compile(r"lost the broker|ready|connected|disconnected|closed|blocked|error|critical|failed")


def print_log_excerpts(folder):
    """A failed scenario's logs are deleted with its folder (unless --keep), and a CI run keeps only its output: print
    what says where a connection went, so a failure seen once can still be read."""
    for name, pattern, count in (("miner-index.log", CONNECTION_LINE, 80), ("miner-load.log", None, 40)):
        path = os.path.join(folder, name)
        try:
            with open(path, errors="replace") as file:
                lines = [line.rstrip() for line in file
                         if pattern is None or (pattern.search(line) and "dead-lettering a message" not in line)]
        except OSError:
            continue
        log(f"chaos: last {min(count, len(lines))} lines of {name}" + (" about connections and errors" if pattern else "") + ":")
        for line in lines[-count:]:
            log("  | " + line[:400])


def balance(scenario, counts, dead_letter_depth, problems):
    """confirmed = applied + dead-lettered, up to duplicates: a delivery handled but not yet acknowledged when its
    channel died is delivered again (miner-index counts it in miner_index_redeliveries_total), and a publish whose
    connection dropped before its confirm is published again (miner-load's `republished`); either may be handled
    twice. With neither, the equality is exact. A killed process's counters are known up to its last reading."""
    processes = scenario.service.finished
    applied = sum(total(p["metrics"], "miner_index_messages_applied_total") for p in processes)
    dead_lettered = sum(total(p["metrics"], "miner_index_messages_dead_lettered_total") for p in processes)
    redeliveries = sum(total(p["metrics"], "miner_index_redeliveries_total") for p in processes)
    reconnects = sum(total(p["metrics"], "miner_index_reconnects_total") for p in processes)
    unread = sum(p.get("unread_allowance", 0) for p in processes)
    confirmed = counts["confirmed"] + scenario.injected["confirmed"]
    duplicates = int(redeliveries) + counts["republished"]
    handled_total = int(applied + dead_lettered)
    if handled_total + unread < confirmed:
        problems.append(f"lost messages: confirmed {confirmed}, applied + dead-lettered {handled_total}"
                        + (f" (+ at most {unread} handled by the killed process after its last reading)" if unread else ""))
    if handled_total > confirmed + duplicates:
        problems.append(f"counted too many: applied + dead-lettered {handled_total} > confirmed {confirmed} "
                        f"+ possible duplicates {duplicates}")
    malformed = counts["malformed"] + scenario.injected["dead_letter_expected"]
    if dead_letter_depth < malformed:
        problems.append(f"dead-letter queue holds {dead_letter_depth}, fewer than the {malformed} malformed messages")
    # A dead-letter copy sent without an answer may be routed and its original rejected into the same queue.
    uncertain_copies = int(sum(total(p["metrics"], "miner_index_dead_letter_copies_uncertain_total") for p in processes))
    if dead_letter_depth > malformed + duplicates + uncertain_copies:
        problems.append(f"dead-letter queue holds {dead_letter_depth}, more than {malformed} malformed + "
                        f"{duplicates} possible duplicates + {uncertain_copies} uncertain dead-letter copies")
    return {"confirmed": confirmed, "applied": int(applied), "dead_lettered": int(dead_lettered),
            "redeliveries": int(redeliveries), "republished": counts["republished"], "reconnects": int(reconnects),
            "uncertain_dead_letter_copies": uncertain_copies,
            "unread_allowance": unread, "processes": [{k: v for k, v in p.items() if k != "metrics"} for p in processes]}


def seconds(value):
    return f"{value:.1f}" if value is not None else "n/a"


def main():
    chosen = [name for name in arguments.scenarios.split(",") if name]
    unknown = [name for name in chosen if name not in FAULTS]
    if unknown:
        fail(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    binary("miner-index"), binary("miner-load")
    node = check_broker()
    started = time.monotonic()
    url = urllib.parse.urlsplit(AMQP_URL)
    log(f"chaos: {'quick' if QUICK else 'full'} run against {node} ({url.hostname}:{url.port or 5672}), "
        f"{arguments.queue_type} queue, scenarios: {', '.join(chosen)}")
    results = [run(name) for name in chosen]
    wall = time.monotonic() - started

    print(f"\nchaos suite ({'quick' if QUICK else 'full'}): {FLEET} miners ({ASIC} ASIC + {CPU_GPU} CPU/GPU) reporting "
          f"every {arguments.report_interval:g} s = {arguments.rate} msg/s offered, persistent, "
          f"{arguments.bad_fraction:g} malformed; {arguments.queue_type} queue; {WARMUP} s of load before each fault, "
          f"at least {TAIL} s after; {wall:.0f} s in all\n")
    print("| scenario | fault lasted | recovery from fault start | from fault end | steady lag | load msg/s (outage included) "
          "| confirmed | applied | dead-lettered | redelivered + republished | service reconnects | verify | result |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        fault = r.get("fault", {}).get("seconds")
        rec = r.get("recovery") or {}
        print(f"| {r['scenario']} | {seconds(fault)} s | {seconds(rec.get('from_fault_start'))} s "
              f"| {seconds(rec.get('from_fault_end'))} s | {seconds(r.get('steady_lag_seconds'))} s "
              f"| {r.get('achieved_rate', 0):.0f} | {r.get('confirmed', 'n/a')} | {r.get('applied', 'n/a')} "
              f"| {r.get('dead_lettered', 'n/a')} | {r.get('redeliveries', 0)} + {r.get('republished', 0)} "
              f"| {r.get('reconnects', 'n/a')} "
              f"| {'PASSED' if r.get('verify_passed') else 'FAILED'} | {'pass' if r['passed'] else 'FAIL'} |")
    failed = [r for r in results if not r["passed"]]
    for r in failed:
        print(f"\n{r['scenario']} FAILED:\n  " + "\n  ".join(r["problems"]) + f"\n  miner-index log: {r['miner_index_log']}"
              + (" (kept)" if arguments.keep else " (deleted; --keep keeps it)"))
    write_results("chaos", {"machine": machine(), "quick": QUICK, "arguments": vars(arguments), "fleet": FLEET,
                            "wall_seconds": wall, "results": results})
    print(f"\n{len(results) - len(failed)}/{len(results)} scenarios passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
