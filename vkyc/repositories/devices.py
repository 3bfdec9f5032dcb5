"""Mobile device registrations (``registerDevice``) and each unit's licence count.

A registration is one item per (unit, subscriber number): the device that call-backs to that
subscriber ring. The first registration of a subscriber in a unit takes one of the unit's licences:
the registration's Put and the licence counter's increment are one transaction, the increment
conditioned on the counter being below the limit, so concurrent registrations never exceed it.
Registering a subscriber again (another session, another phone) updates the item and takes nothing.

A registration is given up by its own device (``unregister``): the item's deletion, conditioned on
the device, and the counter's decrement are one transaction.

Cost: a registration is one GetItem plus one UpdateItem (already registered) or one
TransactWriteItems (new). A lookup is one GetItem; an unregistration one TransactWriteItems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from vkyc.repositories import tables
from vkyc.repositories.errors import RepositoryError
from vkyc.repositories.tables import DeviceLicence, DeviceRegistration

# A registration that loses the race to create the same (unit, subscriber) becomes an update; a
# second loss would need a deletion in between, which nothing does.
_CREATE_ATTEMPTS = 2


class LicenceLimitReached(RepositoryError):
    """The unit already holds ``limit`` registrations: a new subscriber cannot be registered."""

    code = "DEVICE_LIMIT_REACHED"

    def __init__(self, unit_id: str, limit: int) -> None:
        self.unit_id = unit_id
        self.limit = limit
        super().__init__(f"unit {unit_id!r} holds its {limit} registration(s)")


@dataclass(frozen=True)
class Registration:
    """A registration as stored; ``new`` when this call created it (and took a licence)."""

    unit_id: str
    subscriber: str
    device_id: str
    session_id: str | None
    new: bool = False


def find_registration(unit_id: str, subscriber: str | None) -> Registration | None:
    """The device registered for ``subscriber`` in ``unit_id``, or None (also for no subscriber).
    One consistent GetItem; none without a subscriber."""
    if not subscriber:
        return None
    try:
        item = DeviceRegistration.get(unit_id, subscriber, consistent_read=True)
    except DoesNotExist:
        return None
    return _view(item)


def register(
    unit_id: str,
    subscriber: str,
    *,
    device_id: str,
    session_id: str,
    registered_by: str,
    limit: int | None,
    at: datetime,
) -> Registration:
    """Register ``device_id`` (session ``session_id``) for ``subscriber`` in ``unit_id``.

    A subscriber already registered in the unit: the device and session are replaced, no licence is
    taken. Otherwise the registration is created and the unit's count incremented in one transaction,
    if the count is below ``limit`` (None: unlimited); raises ``LicenceLimitReached`` when it is not,
    writing nothing. Raises ``RepositoryError`` for other DynamoDB failures.
    """
    for _ in range(_CREATE_ATTEMPTS):
        if find_registration(unit_id, subscriber) is not None:
            item = DeviceRegistration(unit_id, subscriber)
            item.update(
                actions=[
                    DeviceRegistration.device_id.set(device_id),
                    DeviceRegistration.session_id.set(session_id),
                    DeviceRegistration.registered_by.set(registered_by),
                    DeviceRegistration.updated_at.set(at),
                ]
            )
            return Registration(unit_id, subscriber, device_id, session_id, new=False)
        if _create(unit_id, subscriber, device_id, session_id, registered_by, limit, at):
            return Registration(unit_id, subscriber, device_id, session_id, new=True)
    raise RepositoryError(f"registration of {subscriber!r} in unit {unit_id!r} kept conflicting")


def unregister(unit_id: str, subscriber: str, device_id: str) -> bool:
    """Delete the registration of ``subscriber`` in ``unit_id`` if ``device_id`` is its device, and
    free its licence, in one transaction. False (nothing written) when no such registration exists:
    already released, or another device registered since, whose registration this must not end."""
    counter = DeviceLicence.registered
    try:
        with TransactWrite(connection=tables.connection()) as tx:
            tx.delete(
                DeviceRegistration(unit_id, subscriber),
                condition=DeviceRegistration.device_id == device_id,
            )
            tx.update(DeviceLicence(unit_id), actions=[counter.add(-1)], condition=counter > 0)
    except TransactWriteError as error:
        if error.cause_response_code != "TransactionCanceledException":
            raise RepositoryError(f"unregistration failed: {error.cause_response_message}") from error
        reasons = [*error.cancellation_reasons, None]
        if reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            return False
        raise RepositoryError(f"unregistration cancelled: {error.cause_response_message}") from error
    return True


def registered_count(unit_id: str) -> int:
    """How many registrations ``unit_id`` holds (its licence counter). One consistent GetItem."""
    try:
        return int(DeviceLicence.get(unit_id, consistent_read=True).registered or 0)
    except DoesNotExist:
        return 0


def _create(
    unit_id: str,
    subscriber: str,
    device_id: str,
    session_id: str,
    registered_by: str,
    limit: int | None,
    at: datetime,
) -> bool:
    """Create the registration and take a licence; False if another request created it first."""
    item = DeviceRegistration(
        unit_id,
        subscriber,
        device_id=device_id,
        session_id=session_id,
        registered_by=registered_by,
        registered_at=at,
        updated_at=at,
    )
    counter = DeviceLicence.registered
    below_limit = None if limit is None else (counter.does_not_exist() | (counter < limit))
    try:
        with TransactWrite(connection=tables.connection()) as tx:
            tx.save(item, condition=DeviceRegistration.unit_id.does_not_exist())
            tx.update(DeviceLicence(unit_id), actions=[counter.add(1)], condition=below_limit)
    except TransactWriteError as error:
        if error.cause_response_code != "TransactionCanceledException":
            raise RepositoryError(f"registration failed: {error.cause_response_message}") from error
        # PynamoDB sends puts before updates: the reasons are [registration, counter].
        reasons = [*error.cancellation_reasons, None, None]
        failed = [reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons[:2]]
        if failed[0]:
            return False  # registered by a concurrent request: update it instead
        if any(reason is not None and reason.code == "TransactionConflict" for reason in reasons):
            return False  # another transaction held an item (AWS under contention): try again
        if failed[1]:
            assert limit is not None
            raise LicenceLimitReached(unit_id, limit) from None
        raise RepositoryError(f"registration cancelled: {error.cause_response_message}") from error
    return True


def _view(item: DeviceRegistration) -> Registration:
    return Registration(item.unit_id, item.subscriber, item.device_id, item.session_id)
