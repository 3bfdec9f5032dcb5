"""Cost of one conditional TransactWriteItems on the local moto server as its tables grow:
vkyc's check-then-write transactions (``local/moto_patches.py``) against moto's stock ones, which
deep-copy every table they touch, measured side by side in one run.

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from typing import Any

import boto3

from local import moto_patches
from local.moto_server import MotoServer


def transaction(table: str, key: str) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": key}},
                "UpdateExpression": "SET #s = :a, v = v + :one",
                "ConditionExpression": "#s = :w",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":a": {"S": "A"}, ":w": {"S": "W"}, ":one": {"N": "1"}},
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": {"pk": {"S": f"{key}#log"}, "to": {"S": "A"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]


def measure(client: Any, table: str, size: int, samples: int) -> float:
    """Median ms of one transaction once the table holds ``size`` items (plus their logs)."""
    for i in range(size):
        client.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"item-{i}"},
                "state": {"S": "W"},
                "v": {"N": "1"},
                "payload": {"S": "x" * 200},
            },
        )
    timings = []
    for i in range(samples):
        started = time.perf_counter()
        client.transact_write_items(TransactItems=transaction(table, f"item-{i}"))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,3000")
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, dict[int, float]] = {"patched": {}, "stock": {}}
    # In this process: the switch between stock and patched transactions is this process's moto.
    server = MotoServer(port=0, in_process=True)
    server.start()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.url, region_name="ap-southeast-1")
        for variant in ("patched", "stock"):
            moto_patches.use_stock_transactions(variant == "stock")
            for size in sizes:
                table = f"bench-{uuid.uuid4().hex[:8]}"
                client.create_table(
                    TableName=table,
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                )
                results[variant][size] = measure(client, table, size, args.samples)
                client.delete_table(TableName=table)
        moto_patches.use_stock_transactions(False)
    finally:
        server.stop()
    print(f"{'items':>7}{'patched ms':>12}{'stock ms':>10}{'stock/patched':>15}")
    for size in sizes:
        p, s = results["patched"][size], results["stock"][size]
        print(f"{size:>7}{p:>12.2f}{s:>10.2f}{s / p:>15.1f}")
    big = sizes[-1]
    print(
        json.dumps(
            {
                "items": big,
                "patched_txn_p50_ms": round(results["patched"][big], 2),
                "stock_txn_p50_ms": round(results["stock"][big], 2),
                "ratio": round(results["stock"][big] / results["patched"][big], 1),
                "patched_growth": round(results["patched"][big] / results["patched"][sizes[0]], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
