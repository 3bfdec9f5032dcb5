"""Issue #11: "no module over ~400 lines without a reason you can state". A module that passes 400 lines
is usually two concepts; the ones that stay longer are listed here with their reason, and a new long
module fails until it is split or given one."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vkyc", "functions", "media_node", "sdk", "local", "infra", "bench")
LIMIT = 400

# Why each of these is one concept despite its length.
REASONS: dict[str, str] = {
    # Catalogues and schemas: one entry per thing they list, read top to bottom, nothing to split.
    "vkyc/protocol/errors.py": "the error and warning catalogue: one entry per code",
    "vkyc/protocol/messages.py": "every protocol message as a pydantic model: one class per message",
    "vkyc/protocol/v1.py": "the integrator API's bodies and answers: one model per JSON object",
    "vkyc/repositories/tables.py": "one PynamoDB model per table, the single definition of each",
    "local/demo/schema.py": "the demo file's models and the cross-checks between their entries",
    "vkyc/api/admin_endpoints.py": "the admin API's endpoints, declared once each",
    # One write path or one state machine and its guards.
    "vkyc/repositories/transitions.py": "the one write path of every state change (plan, commit, log)",
    "vkyc/services/sessions.py": "one session's machine: login, resume, drop, grace, bye, revocation",
    "vkyc/services/call_lifecycle.py": "the steps every call takes in both directions, one use case each",
    "vkyc/services/callbacks.py": "a call-back's start and ring, its own machine until answered",
    "vkyc/services/party_media.py": "a party's offer, the snapshot and the node's reports for one call",
    "vkyc/services/admin.py": "the configuration kinds' rules: reach, references, in-use, audited writes",
    "vkyc/services/admin_people.py": "accounts and API keys: their rules and what a change cuts off",
    "vkyc/services/housekeeping.py": "the sweeper's checks of every stuck state, and the end of day",
    "vkyc/domain/metrics.py": "what each change of a call or an agent adds to the report counters",
    "media_node/engine.py": "the node's calls and their guards, independent of the signaling channel",
    "media_node/recorder.py": "the recording's part format, its writer, assembly and recovery",
    "media_node/wiring.py": "the node on the signaling channel: offers, orders, heartbeats, recovery",
    # A client or an emulator of an outside system, whose surface is that system's.
    "sdk/client.py": "the reference SDK's session: every role's requests, pushes and resume",
    "sdk/media.py": "the SDK's aiortc peer and the tracks it sends",
    "local/apigw/server.py": "API Gateway's WebSocket API and @connections, emulated in one server",
    "local/runners/schedule.py": "EventBridge's rate and cron expressions, parsed, and their runner",
    "local/moto_patches.py": "the one seam into moto's internals (issue #11 item 4)",
    "local/stack.py": "the local stack: its processes, addresses, secrets and start-up order",
    "functions/admin/app.py": "the admin function's routes: one thin handler per endpoint",
    "infra/template.py": "the core stack's template, from the Chalice apps' packages",
    "infra/media_node_stack.py": "the media node's Fargate service, roles, logs and alarms",
    # Benchmarks: one scenario each, with its set-up and its figures.
    "bench/media_capacity.py": "the node's capacity against aiortc's stock pipeline, one scenario",
    "bench/reports.py": "reports at volume: seeding, measuring and the figures, one scenario",
}


def line_counts() -> dict[str, int]:
    counts = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if ".venv" in relative.parts or "build" in relative.parts:
                continue
            counts[relative.as_posix()] = len(path.read_text(encoding="utf-8").splitlines())
    return counts


def test_every_module_over_the_limit_has_a_reason():
    counts = line_counts()
    unexplained = {name: n for name, n in counts.items() if n > LIMIT and name not in REASONS}
    assert unexplained == {}, "split these, or say in REASONS why each is one concept"


def test_every_reason_is_for_a_module_still_over_the_limit():
    counts = line_counts()
    stale = {name: counts.get(name) for name in REASONS if counts.get(name, 0) <= LIMIT}
    assert stale == {}, "these are short now (or gone): remove them from REASONS"
