#!/usr/bin/env python3
"""The fleet metrics, the alerting rules and the Grafana dashboard, against a real Prometheus (issue 25).

1. `promtool check rules` and `promtool test rules` on deploy/prometheus/.
2. A real miner-index (debug binaries in .build/debug, or MINER_INDEX_BIN_DIR) on the real broker (AMQP_URL), fed by
   miner-load with a share of malformed messages, is scraped every second by the Prometheus of
   scripts/prometheus.sh (started here unless one answers; stopped at the end only if started here).
3. Once the fleet has stopped reporting: every fleet gauge, queried in PromQL at the scrape that read the index
   version of the aggregated payloads, equals the payloads' figures (hashrates in H/s, efficiency in J/H).
4. `promtool check metrics` passes on a scrape, and Prometheus evaluates every rule of rules.yml without error.
5. The dashboard has what Grafana needs (uid, title, schema version, panels on the 24-column grid, a Prometheus
   datasource by the provisioned uid, targets with refId and expr) and the panels the issue names; every panel's
   expression parses and returns data from this Prometheus.

Ends with "N passed, N failed" and exits 1 on any failure.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("MINER_INDEX_BIN_DIR", ROOT / ".build" / "debug"))
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PROMETHEUS = os.environ.get("MINER_INDEX_PROMETHEUS_URL", "http://127.0.0.1:9090").rstrip("/")
# Names of this test's own, the same on every run, so nothing accumulates on the broker.
NAMES = "miner_index.observability_test"
HASH_UNITS = {"H/s": 1, "KH/s": 1e3, "MH/s": 1e6, "GH/s": 1e9, "TH/s": 1e12, "PH/s": 1e15, "EH/s": 1e18}
EFFICIENCY_UNITS = {"J/H": 1, "J/KH": 1e-3, "J/MH": 1e-6, "J/GH": 1e-9, "J/TH": 1e-12, "J/PH": 1e-15}

passed = 0
failed = 0


def check(description, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"  ok      {description}")
    else:
        failed += 1
        print(f"  FAILED  {description}{': ' + detail if detail else ''}")
    return condition


def close(a, b, relative=1e-9):
    return a is not None and b is not None and abs(a - b) <= relative * max(abs(a), abs(b), 1e-300)


def wait_for(what, condition, timeout=60.0, interval=0.25):
    """Polls `condition` until it returns something truthy; fails the test run after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def promql(expr, at=None):
    query = {"query": expr}
    if at is not None:
        query["time"] = repr(at)
    try:
        body = http_get(f"{PROMETHEUS}/api/v1/query?{urllib.parse.urlencode(query)}")
    except urllib.error.HTTPError as error:
        return {"status": "error", "error": error.read().decode(errors="replace")}
    return json.loads(body)


def series(expr, at):
    answer = promql(expr, at)
    if answer.get("status") != "success":
        raise AssertionError(f"{expr}: {answer.get('error')}")
    return [(sample["metric"], float(sample["value"][1])) for sample in answer["data"]["result"]]


def one(expr, at):
    found = series(expr, at)
    return found[0][1] if len(found) == 1 else None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def promtool_checks():
    print("promtool: rules")
    rules = ROOT / "deploy" / "prometheus"
    for arguments in (["check", "rules", "rules.yml"], ["test", "rules", "rules_test.yml"]):
        result = subprocess.run(["promtool", *arguments], cwd=rules, capture_output=True, text=True)
        check(f"promtool {' '.join(arguments)}", result.returncode == 0, result.stdout + result.stderr)


def start_service(port):
    exchanges = {
        "--exchange": f"{NAMES}.logs",
        "--dead-letter-exchange": f"{NAMES}.dead_letter",
        "--dead-letter-queue": f"{NAMES}.dead_letter",
        "--asic-index-exchange": f"{NAMES}.asic_index",
        "--asic-aggregated-exchange": f"{NAMES}.asic_aggregated",
        "--cpu-gpu-index-exchange": f"{NAMES}.cpu_gpu_index",
        "--cpu-gpu-aggregated-exchange": f"{NAMES}.cpu_gpu_aggregated",
        "--keyframe-request-exchange": f"{NAMES}.keyframe_requests",
    }
    command = [str(BIN / "miner-index"), "--amqp-url", AMQP_URL, "--state", "none", "--http-port", str(port),
               "--queue", f"{NAMES}.logs", "--stale-after", "10m", "--offline-after", "15m", "--log-level", "error"]
    for flag, name in exchanges.items():
        command += [flag, name]
    return subprocess.Popen(command, stdout=sys.stdout, stderr=sys.stderr)


def ready(port):
    try:
        return http_get(f"http://127.0.0.1:{port}/readyz", timeout=2).startswith(b"consuming")
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def payload(port, kind):
    return json.loads(http_get(f"http://127.0.0.1:{port}/v1/{kind}s/aggregated_index"))


def compare_to_payloads(port, instance):
    print("the fleet gauges against the aggregated payloads")
    payloads = {kind: payload(port, kind) for kind in ("asic_miner", "cpu_gpu_miner")}
    selector = f'instance="{instance}"'

    def scraped_at_the_payloads_versions():
        answer = series(f"miner_index_index_version{{{selector}}}", None)
        versions = {labels["kind"]: value for labels, value in answer}
        if all(versions.get(kind) == payloads[kind]["sequence"] for kind in payloads):
            return float(promql(f'miner_index_index_version{{{selector},kind="asic_miner"}}')["data"]["result"][0]["value"][0])
        return None

    at = wait_for("a scrape at the payloads' index versions", scraped_at_the_payloads_versions, timeout=30)
    check("a scrape read the index versions of the payloads",
          one(f'miner_index_index_version{{{selector},kind="cpu_gpu_miner"}}', at) == payloads["cpu_gpu_miner"]["sequence"])

    for kind, body in payloads.items():
        labels = f'{selector},kind="{kind}"'
        coins = body["coin_hashrate_map"]
        gauges = {m["coin"]: v for m, v in series(f"miner_index_fleet_hashrate_hashes_per_second{{{labels}}}", at)}
        check(f"{kind}: one hashrate series per coin of the payload ({len(coins)})", set(gauges) == set(coins),
              f"{sorted(gauges)} against {sorted(coins)}")
        for coin, (value, unit) in coins.items():
            shown = value * HASH_UNITS[unit]
            check(f"{kind}: {coin} hashrate {value} {unit}", close(gauges.get(coin), shown, 1e-8),
                  f"{gauges.get(coin)} H/s against {shown}")
        check(f"{kind}: total power {body['total_power']} W",
              close(one(f"miner_index_fleet_power_watts{{{labels}}}", at), body["total_power"]))
        statuses = {m["status"]: v for m, v in series(f"miner_index_fleet_miners{{{labels}}}", at)}
        check(f"{kind}: status counts {body['status_counts']}",
              statuses == {name: float(count) for name, count in body["status_counts"].items()}, str(statuses))
        alive = body.get("asic_miner_alive") or body.get("cpu_gpu_miner_alive") or ""
        live, registered = (int(part) for part in alive.split("/"))
        check(f"{kind}: alive {alive} is online + stale over online + stale + offline",
              statuses.get("online", 0) + statuses.get("stale", 0) == live
              and statuses.get("online", 0) + statuses.get("stale", 0) + statuses.get("offline", 0) == registered)
        thermal = body["thermal"]
        for stat, key in (("max", "max_temp"), ("avg", "avg_temp")):
            check(f"{kind}: {stat} temperature {thermal[key]}",
                  close(one(f'miner_index_fleet_temperature_celsius{{{labels},stat="{stat}"}}', at), thermal[key]))
        check(f"{kind}: fans stopped {thermal['fans_stopped']}",
              one(f"miner_index_fleet_fans_stopped{{{labels}}}", at) == thermal["fans_stopped"])

    asic = payloads["asic_miner"]
    power = {m["coin"]: v for m, v in series(f"miner_index_fleet_coin_power_watts{{{selector}}}", at)}
    check(f"coin power of {len(asic['coin_power_map'])} coins",
          set(power) == set(asic["coin_power_map"])
          and all(close(power[coin], watts) for coin, watts in asic["coin_power_map"].items()), str(power))
    efficiency = {m["coin"]: v for m, v in series(f"miner_index_fleet_efficiency_joules_per_hash{{{selector}}}", at)}
    check(f"efficiency of {len(asic['coin_efficiency_map'])} coins",
          set(efficiency) == set(asic["coin_efficiency_map"])
          and all(close(efficiency[coin], value * EFFICIENCY_UNITS[unit], 1e-8)
                  for coin, (value, unit) in asic["coin_efficiency_map"].items()), str(efficiency))
    pools = asic["pools"]
    miners = {m["pool"]: v for m, v in series(f"miner_index_fleet_pool_miners{{{selector}}}", at)}
    shares = {(m["pool"], m["result"]): v for m, v in series(f"miner_index_fleet_pool_shares{{{selector}}}", at)}
    check(f"pools: {len(pools)} of them, with their miners and shares",
          len(pools) > 1 and set(miners) == set(pools)
          and all(miners[address] == pool["miners"] and shares[(address, "accepted")] == pool["accepted"]
                  and shares[(address, "rejected")] == pool["rejected"] for address, pool in pools.items()))
    models = {(m["model"], m["status"]): v for m, v in series(f"miner_index_fleet_model_miners{{{selector}}}", at)}
    expected_models = {}
    for model, figures in asic["model_map"].items():
        live, registered = (int(part) for part in figures["alive"].split("/"))
        expected_models[(model, "alive")] = float(live)
        expected_models[(model, "offline")] = float(registered - live)
    check(f"models: {len(asic['model_map'])} of them, alive and offline", len(asic["model_map"]) > 1
          and models == expected_models, f"{models} against {expected_models}")
    check(f"expected but missing: {asic['expected_missing']['count']}",
          one(f"miner_index_fleet_expected_missing{{{selector}}}", at) == asic["expected_missing"]["count"])
    check("the instance is a ready leader", one(f'miner_index_role{{{selector},role="leader"}}', at) == 1
          and one(f"miner_index_ready{{{selector}}}", at) == 1)


def lint_scrape(port):
    print("promtool: a scrape")
    body = http_get(f"http://127.0.0.1:{port}/metrics")
    result = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    check(f"promtool check metrics on a scrape of {len(body.splitlines())} lines", result.returncode == 0,
          (result.stdout + result.stderr).decode(errors="replace"))


def rules_evaluate(instance):
    print("rules.yml in the real Prometheus")

    def evaluated():
        groups = json.loads(http_get(f"{PROMETHEUS}/api/v1/rules"))["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules) else None

    rules = wait_for("every rule evaluated once", evaluated, timeout=30)
    names = sorted(rule["name"] for rule in rules)
    check(f"{len(rules)} rules evaluate without error",
          len(rules) == 9 and all(rule["health"] == "ok" for rule in rules),
          str([(rule["name"], rule["health"], rule.get("lastError")) for rule in rules]))
    for required in ("MinerIndexDown", "MinerIndexNotReady", "MinerIndexNoLeader", "MinerIndexIngestLag",
                     "MinerIndexInputBacklogGrowing", "MinerIndexDeadLettersRising", "FleetAliveLow",
                     "FleetHashrateDrop"):
        check(f"rules.yml has {required}", required in names)
    alerts = json.loads(http_get(f"{PROMETHEUS}/api/v1/alerts"))["data"]["alerts"]
    firing = [alert["labels"] for alert in alerts if alert["state"] == "firing"
              and alert["labels"].get("instance") in (instance, None)]
    check("no alert fires for this instance, nor for want of a leader (dead letters wait their 5 minutes)",
          not firing, str(firing))


def dashboard_checks():
    print("the Grafana dashboard")
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "miner-index.json").read_text())
    provisioned = (ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    datasource_uid = re.search(r"^\s*uid:\s*(\S+)", provisioned, re.M).group(1)
    provider = (ROOT / "deploy" / "grafana" / "provisioning" / "dashboards" / "miner-index.yml").read_text()
    check("the dashboard provider reads the directory compose mounts the dashboards in",
          "path: /var/lib/grafana/dashboards" in provider
          and "./deploy/grafana/dashboards:/var/lib/grafana/dashboards" in (ROOT / "docker-compose.yml").read_text())
    check("uid, title and an integer schemaVersion",
          bool(dashboard.get("uid")) and bool(dashboard.get("title")) and isinstance(dashboard.get("schemaVersion"), int))
    panels = dashboard.get("panels", [])
    ids = [panel.get("id") for panel in panels]
    check("panel ids are unique integers", len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids))
    grid_ok = all(
        all(isinstance(panel.get("gridPos", {}).get(key), int) for key in ("h", "w", "x", "y"))
        and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24 for panel in panels)
    check("every panel sits on the 24-column grid", grid_ok)
    rows = [panel["title"] for panel in panels if panel.get("type") == "row"]
    check(f"a fleet row and a service row ({rows})", any("Fleet" in r for r in rows) and any("Service" in r for r in rows))
    queries = [panel for panel in panels if panel.get("type") != "row"]
    titles = " | ".join(panel.get("title", "") for panel in queries).lower()
    for wanted in ("hashrate", "power", "efficiency", "status", "temperature", "reject", "model", "ingest",
                   "lag", "queue", "dead letters", "reconnects", "leader", "snapshot"):
        check(f"a panel for {wanted}", wanted in titles)
    for panel in queries:
        targets = panel.get("targets", [])
        check(f"panel '{panel.get('title')}': type, Prometheus datasource {datasource_uid}, targets with refId",
              bool(panel.get("type")) and panel.get("datasource", {}).get("uid") == datasource_uid
              and panel["datasource"].get("type") == "prometheus" and bool(targets)
              and all(target.get("refId") and target.get("expr") for target in targets))
        for target in targets:
            answer = promql(target["expr"])
            results = answer.get("data", {}).get("result", []) if answer.get("status") == "success" else []
            check(f"  {target['refId']}: {target['expr'][:90]}", bool(results),
                  answer.get("error", "no data") if not results else "")


def main():
    for tool in (BIN / "miner-index", BIN / "miner-load"):
        if not tool.exists():
            sys.exit(f"observability: {tool} is missing; build first (swift build)")
    promtool_checks()

    started = subprocess.run(["bash", str(ROOT / "scripts" / "prometheus.sh"), "start"], capture_output=True, text=True)
    print(started.stdout + started.stderr, end="")
    if started.returncode != 0:
        sys.exit("observability: no Prometheus to scrape with")
    we_started_it = "prometheus: started" in started.stdout
    targets = Path(subprocess.run(["bash", str(ROOT / "scripts" / "prometheus.sh"), "targets"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    port = free_port()
    instance = f"127.0.0.1:{port}"
    target_file = targets / "observability-test.json"
    service = start_service(port)
    try:
        wait_for("miner-index to consume", lambda: service.poll() is None and ready(port), timeout=60)
        target_file.write_text(json.dumps([{"targets": [instance]}]))

        def scraped():
            return one(f'up{{instance="{instance}"}}', None) == 1
        wait_for(f"Prometheus at {PROMETHEUS} to scrape {instance} (a server not started by scripts/prometheus.sh "
                 f"must list {targets} in its file_sd_configs)", scraped, timeout=30)

        print("miner-load: 3000 ASICs and 600 rigs for 20 s, 2% malformed")
        load = subprocess.run(
            [str(BIN / "miner-load"), "--amqp-url", AMQP_URL, "--exchange", f"{NAMES}.logs", "--asic", "3000",
             "--cpu-gpu", "600", "--register", "--bad-fraction", "0.02", "--report-interval", "5s", "--duration",
             "20s", "--quiet"], capture_output=True, text=True, timeout=120)
        print(load.stdout + load.stderr, end="")
        check("miner-load sent its fleet", load.returncode == 0)

        def drained():
            versions = [payload(port, kind)["sequence"] for kind in ("asic_miner", "cpu_gpu_miner")]
            time.sleep(2)
            again = [payload(port, kind)["sequence"] for kind in ("asic_miner", "cpu_gpu_miner")]
            depth = one(f'miner_index_input_queue_ready_messages{{instance="{instance}"}}', None)
            return versions == again and depth == 0
        wait_for("the input queue to drain and the indexes to settle", drained, timeout=60)

        compare_to_payloads(port, instance)
        lint_scrape(port)
        rules_evaluate(instance)
        dashboard_checks()
    finally:
        target_file.unlink(missing_ok=True)
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
        if we_started_it:
            subprocess.run(["bash", str(ROOT / "scripts" / "prometheus.sh"), "stop"])
    print(f"observability: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
