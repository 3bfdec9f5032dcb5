"""DynamoDB's answers are written by ``local/moto_patches.py``'s attribute-value fast path exactly as moto's
own serializer writes them (5. in its docstring): same JSON, every attribute type, nested maps and
lists, blobs, the streams' images and a cancelled transaction's reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local import moto_patches

moto_patches.apply()

# moto is imported after its version is checked (moto_patches)
from moto.core.responses import get_service_model  # noqa: E402
from moto.core.serialize import BaseJSONSerializer, JSONSerializer, XFormedAttributePicker  # noqa: E402

ITEM: dict[str, Any] = {
    "pk": {"S": "call-1"},
    "empty": {"S": ""},
    "version": {"N": "12"},
    "blob": {"B": b"\x00\x01\xfe"},
    "tags": {"SS": ["a", "b"]},
    "counts": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x00", b"\xff"]},
    "gone": {"NULL": True},
    "flag": {"BOOL": False},
    "customer": {
        "M": {
            "name": {"S": "Nguyễn Văn A"},
            "images": {"L": [{"S": "front.jpg"}, {"M": {"k": {"N": "1"}}}, {"BOOL": True}]},
            "dotted.key": {"S": "kept"},
        }
    },
    "history": {"L": []},
    "nothing": {"M": {}},
}

CASES: list[tuple[str, str, Any]] = [
    ("dynamodb", "GetItem", {"Item": ITEM}),
    ("dynamodb", "GetItem", {}),
    ("dynamodb", "Query", {"Items": [ITEM, {"pk": {"S": "call-2"}}], "Count": 2, "ScannedCount": 2}),
    ("dynamodb", "Scan", {"Items": [ITEM], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": ITEM}),
    ("dynamodb", "BatchGetItem", {"Responses": {"calls": [ITEM]}, "UnprocessedKeys": {}}),
    ("dynamodb", "UpdateItem", {"Attributes": ITEM}),
    (
        "dynamodbstreams",
        "GetRecords",
        {
            "Records": [
                {
                    "eventID": "1",
                    "eventName": "MODIFY",
                    "dynamodb": {"Keys": {"pk": ITEM["pk"]}, "NewImage": ITEM, "OldImage": ITEM},
                }
            ],
            "NextShardIterator": "next",
        },
    ),
]


def _serialize(service: str, operation: str, result: Any) -> str:
    model = get_service_model(service).operation_model(operation)
    serializer = JSONSerializer(operation_model=model, value_picker=XFormedAttributePicker())
    return str(serializer.serialize(result)["body"])


def _shapes_moto_serialized(monkeypatch, service: str, operation: str, result: Any) -> tuple[str, set[str]]:
    """The body with the fast path on, and the structures that still went through moto's serializer."""
    seen: set[str] = set()
    stock = moto_patches.STOCK_JSON_STRUCTURE

    def recording(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        seen.add(shape.name)
        stock(self, serialized, value, shape, key)

    with monkeypatch.context() as patch:
        patch.setattr(moto_patches, "STOCK_JSON_STRUCTURE", recording)
        return _serialize(service, operation, result), seen


@pytest.mark.parametrize(("service", "operation", "result"), CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_the_fast_path_writes_what_moto_writes(monkeypatch, service, operation, result):
    fast, left_to_moto = _shapes_moto_serialized(monkeypatch, service, operation, result)
    assert "AttributeValue" not in left_to_moto
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", moto_patches.STOCK_JSON_STRUCTURE)
    stock = _serialize(service, operation, result)
    assert json.loads(fast) == json.loads(stock)
    assert fast == stock  # key order included


def test_a_value_that_is_not_plainly_an_attribute_value_is_left_to_moto(monkeypatch):
    odd = {"Item": {"pk": {"S": "x"}, "n": {"N": 5}, "extra": {"S": "y", "Unknown": "z"}}}
    fast, left_to_moto = _shapes_moto_serialized(monkeypatch, "dynamodb", "GetItem", odd)
    assert "AttributeValue" in left_to_moto
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", moto_patches.STOCK_JSON_STRUCTURE)
    assert fast == _serialize("dynamodb", "GetItem", odd)
