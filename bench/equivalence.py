"""Checks that both servers answer the dashboard with the same data for the same citizens."""

from datetime import datetime
from typing import Any


def _instant(value: str | None) -> str | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()


def _edges(connection: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [edge["node"] for edge in (connection or {}).get("edges", [])]


def comparable(me: dict[str, Any] | None) -> dict[str, Any] | None:
    """The dashboard's data without IDs and cursors, which each server encodes its own way."""
    if me is None:
        return None
    return {
        "fullName": me["fullName"],
        "dateOfBirth": me["dateOfBirth"],
        "phoneMasked": me["phoneMasked"],
        "vaccinationStatus": me["vaccinationStatus"],
        "vaccinations": [
            (v["doseNumber"], _instant(v["administeredAt"]), v["siteName"], v["vaccine"]["code"])
            for v in me["vaccinations"] or []
        ],
        "testResults": [
            (
                t["testType"],
                t["pooled"],
                t["result"],
                _instant(t["collectedAt"]),
                _instant(t["resultedAt"]),
            )
            for t in _edges(me["testResults"])
        ],
        "testsHaveNextPage": me["testResults"]["pageInfo"]["hasNextPage"],
        "checkIns": [
            (c["method"], _instant(c["checkedInAt"]), c["venue"]["name"], c["venue"]["kind"])
            for c in _edges(me["checkIns"])
        ],
        "checkInsHaveNextPage": me["checkIns"]["pageInfo"]["hasNextPage"],
    }


def differences(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> list[str]:
    left, right = comparable(ours), comparable(theirs)
    if left is None or right is None:
        return [] if left == right else ["one side returned no citizen"]
    return [key for key in left if left[key] != right[key]]
