"""Shared helpers of the service benchmarks: the release binaries, /proc readings, medians."""
import json
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.environ.get("BENCH_SCRATCH", os.path.join(ROOT, ".build-load-release"))
BIN = os.path.join(SCRATCH, "release")
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def binary(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing; run bench/build.sh first")
    return path


def log(message):
    print(message, file=sys.stderr, flush=True)


def run_json(arguments, timeout=600):
    """Runs a command that prints one JSON object on its last stdout line."""
    completed = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"{arguments[0]} exited {completed.returncode}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def cpu_seconds(pid):
    """utime + stime from /proc/<pid>/stat, counting fields after the parenthesised command name."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def status_bytes(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def start_watch(queue, expect):
    """Starts the drain watcher and returns once it has polled the full queue at least once."""
    watcher = subprocess.Popen(
        [binary("amqp-drain-bench"), "watch-drain", "--amqp-url", AMQP_URL, "--queue", queue, "--expect", str(expect)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = watcher.stderr.readline()
    if not line.startswith("watching"):
        raise RuntimeError(f"watcher failed: {line}{watcher.stderr.read()}")
    return watcher


def finish_watch(watcher, timeout=600):
    out, err = watcher.communicate(timeout=timeout)
    result = json.loads(out.strip().splitlines()[-1])
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def stop(process, timeout=30):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def median(values):
    return statistics.median(values) if values else float("nan")


def machine():
    model = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    rabbit = "unknown"
    try:
        status = subprocess.run(["rabbitmqctl", "version"], capture_output=True, text=True, timeout=60).stdout.strip()
        rabbit = status or rabbit
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "rabbitmq": rabbit, "kernel": os.uname().release}


def output_exchanges(prefix):
    """The four output exchanges of a bench run, named after its prefix so that bench runs never publish to
    (or read from) the default exchanges another miner-index on the same broker uses."""
    return {"asic-index": f"{prefix}.asic_miner_index", "asic-aggregated": f"{prefix}.asic_miner_aggregated_index",
            "cpu-gpu-index": f"{prefix}.cpu_gpu_miner_index",
            "cpu-gpu-aggregated": f"{prefix}.cpu_gpu_miner_aggregated_index"}


def exchange_flags(exchanges):
    """--asic-index-exchange NAME ... : the same flag names for miner-index and miner-load."""
    return [item for flag, name in exchanges.items() for item in (f"--{flag}-exchange", name)]


def delete_topology(queues, exchanges):
    """Deletes the bench's queues and exchanges (with pika, if it is installed) so the broker is left as found."""
    try:
        import pika
    except ImportError:
        log(f"pika is not installed: delete these by hand: queues {queues}, exchanges {exchanges}")
        return
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    for queue in queues:
        channel.queue_delete(queue)
    for exchange in exchanges:
        channel.exchange_delete(exchange)
    connection.close()
    log(f"deleted {len(queues)} queues and {len(exchanges)} exchanges")


def write_results(name, payload):
    directory = os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "results"))
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as output:
        json.dump(payload, output, indent=2)
    log(f"raw results: {path}")
