"""The Python peer of bench 1: pika's blocking consumer, json.loads of every body and a dict update per miner,
multiple-acks like the other contenders. Prints one JSON line with its own CPU time."""
import argparse
import json
import resource

import pika

parser = argparse.ArgumentParser()
parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/")
parser.add_argument("--queue", required=True)
parser.add_argument("--expect", type=int, required=True)
parser.add_argument("--prefetch", type=int, default=500)
arguments = parser.parse_args()

connection = pika.BlockingConnection(pika.URLParameters(arguments.url))
channel = connection.channel()
channel.basic_qos(prefetch_count=arguments.prefetch)
latest = {}
received = 0
unacked = 0
for method, properties, body in channel.consume(arguments.queue):
    try:
        log = json.loads(body)
        miner = log.get("asic_miner_id", log.get("cpu_gpu_miner_id"))
        latest[miner] = log
    except (ValueError, AttributeError):
        pass
    received += 1
    unacked += 1
    if unacked >= 50 or received >= arguments.expect:
        channel.basic_ack(method.delivery_tag, multiple=True)
        unacked = 0
    if received >= arguments.expect:
        break
channel.cancel()
connection.close()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"messages": received, "miners": len(latest), "cpu_seconds": usage.ru_utime + usage.ru_stime}))
