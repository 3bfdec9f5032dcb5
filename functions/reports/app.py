"""Reports, admin and integrator REST API, and the supervisors' live board.

REST (declared in ``vkyc.api.endpoints``, documented in the generated ``docs/openapi.json``; the web
client's reads): ``GET /health`` (the dependencies answer), ``GET /units`` (the units with their
serving map), and, with ``Authorization: Bearer <token>`` from ``POST /auth/login``: ``GET /me`` (who,
status, the page's settings), ``GET /dossiers/{dossier_id}`` (the dossier with pre-signed image URLs),
``GET /calls/{call_id}`` (supervisors: a call's timeline, snapshots and recording),
``GET /reports/calls-per-hour`` (supervisors: answered / missed per hour, service level against its
target), ``GET /reports/auth-events`` (supervisors: the login audit trail), and the reports on the
aggregates, ``GET /reports/summary``, ``/reports/agents``, ``/reports/calls``, ``/reports/errors``
(supervisors and admins with a bearer token, integrators with their API key; CSV with
``Accept: text/csv``). Thin: the REST layer
(``vkyc.api.routes``) validates and authenticates, one ``ReportsService`` call answers; every failure is
a catalogue error ``{"code", "message"}`` with its HTTP status.

Streams: changes of the ``agents`` and ``calls`` tables are first counted into the reports' aggregates
(``vkyc.services.aggregates``: each effect once, whatever the deliveries), then become
``monitor.agent`` / ``monitor.queue`` / ``monitor.tiles`` pushes to the supervisors watching
(``vkyc.services.reports_monitor``), through API Gateway's
``@connections`` of the WebSocket API named by ``VKYC_WS_API_ID`` / ``VKYC_WS_STAGE`` (locally the
stack points this app's ``websocket_api`` at the emulator).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from chalice import Chalice
from chalice.app import DynamoDBEvent, WebsocketDisconnectedError

from functions.chalice_rest import mount
from vkyc import env
from vkyc.config import load_config
from vkyc.once import once

if TYPE_CHECKING:
    from vkyc.api.routes import RestApi
    from vkyc.services.aggregates import AggregateService
    from vkyc.services.reports_monitor import MonitorService

config = load_config("reports")  # refuses to start without a required setting or secret
app = Chalice(app_name="vkyc-reports")
log = logging.getLogger("vkyc.reports")

# The services, the endpoints' models and the tables are imported at the first request or stream
# batch, not at import: a cold start pays for Chalice only (docs/benchmarks.md).


@once
def monitor() -> MonitorService:
    """Built on the first stream batch: by then the stack has pointed ``websocket_api`` somewhere."""
    from vkyc.adapters.notifier import management_api_notifier
    from vkyc.services.reports_monitor import MonitorService

    return MonitorService(management_api_notifier(app.websocket_api, WebsocketDisconnectedError))


# -- REST ----------------------------------------------------------------------------------------------


@once
def rest_api() -> RestApi:
    """The reads bound to their handlers, built at the first request."""
    from vkyc.adapters.media_files import MediaFiles
    from vkyc.api import endpoints
    from vkyc.api.routes import Context, RestApi, RestRequest
    from vkyc.protocol import report_rest, rest, v1
    from vkyc.protocol.messages import Role
    from vkyc.protocol.tabular import CsvStream
    from vkyc.repositories import units
    from vkyc.repositories.tables import missing_tables
    from vkyc.services.answer_urls import AnswerUrls
    from vkyc.services.auth import AuthService
    from vkyc.services.call_list import CallList
    from vkyc.services.credentials import CredentialGuard
    from vkyc.services.health import HealthService
    from vkyc.services.integrator_auth import IntegratorAuth
    from vkyc.services.report_queries import ReportQueries
    from vkyc.services.report_scope import ReportCaller, as_report_caller, integrator_caller
    from vkyc.services.reports import ReportsService
    from vkyc.services.ticket_reads import TicketReads
    from vkyc.services.workspace import WorkspaceService

    files = MediaFiles()
    reports = ReportsService(files)
    workspace = WorkspaceService(reports)
    ticket_reads = TicketReads()
    answer_urls = AnswerUrls()
    queries = ReportQueries()
    call_list = CallList()
    keys = IntegratorAuth(CredentialGuard(AuthService()))

    def tables() -> str | None:
        missing = missing_tables()
        return f"missing {', '.join(missing)}" if missing else None

    def bucket() -> str | None:
        files.check_bucket()
        return None

    def integrator(request: RestRequest) -> ReportCaller:
        found = keys.integrator(
            request.header("authorization"), request.header("x-api-key"), request.source_ip
        )
        return integrator_caller(found, units.list_units())

    health_checks = HealthService({"dynamodb": tables, "bucket": bucket})
    api = RestApi(authenticate=reports.caller, authenticate_key=integrator)

    @api.route(endpoints.HEALTH)
    def health(call: Context) -> rest.Health:
        return rest.Health.model_validate({"status": "ok", "checks": health_checks.status()})

    @api.route(endpoints.UNITS)
    def list_units(call: Context) -> rest.Units:
        return rest.Units(units=[rest.Unit(**u.as_dict()) for u in units.list_units()])

    @api.route(endpoints.ME)
    def me(call: Context) -> rest.Me:
        return reports.me(call.caller)

    @api.route(endpoints.DOSSIER)
    def dossier(call: Context) -> rest.DossierDetail:
        return reports.dossier(call.caller, call.params_as(rest.DossierPath).dossier_id)

    @api.route(endpoints.CALL)
    def call_lookup(call: Context) -> rest.CallDetail:
        return reports.call(call.caller, call.params_as(rest.CallPath).call_id)

    @api.route(endpoints.CALLS_PER_HOUR)
    def calls_per_hour(call: Context) -> rest.CallsPerHour:
        return reports.calls_per_hour(call.caller, call.query_as(rest.CallsPerHourQuery))

    @api.route(endpoints.AUTH_EVENTS)
    def auth_events(call: Context) -> rest.AuthEvents:
        return reports.auth_events(call.caller, call.query_as(rest.AuthEventsQuery))

    # -- the agent's workspace (issue #16) --

    @api.route(endpoints.MY_CALLS)
    def my_calls(call: Context) -> rest.MyDay:
        return workspace.my_day(call.caller, call.query_as(rest.MyCallsQuery))

    @api.route(endpoints.DOSSIER_SEARCH)
    def dossier_search(call: Context) -> rest.DossierSearch:
        return workspace.search_dossiers(call.caller, call.query_as(rest.DossierSearchQuery))

    @api.route(endpoints.QUEUES_WAITING)
    def queues_waiting(call: Context) -> rest.WaitingQueues:
        return workspace.waiting(call.caller)

    # -- tickets for missed calls and the answer-URL popup (issue #16, seed 004) --

    @api.route(endpoints.AGENT_TICKETS)
    def agent_tickets(call: Context) -> v1.AgentTickets:
        principal = call.caller.principal
        if principal.role is not Role.AGENT:
            return v1.AgentTickets(tickets=[])
        return ticket_reads.for_agent(principal.principal_id)

    @api.route(endpoints.ANSWER_URL)
    def answer_url(call: Context) -> rest.AnswerUrls:
        return answer_urls.for_agent(
            call.caller.principal.principal_id, call.params_as(rest.CallPath).call_id
        )

    @api.route(endpoints.REPORT_SUMMARY)
    def report_summary(call: Context) -> report_rest.Summary | CsvStream:
        query, caller = call.query_as(report_rest.SummaryQuery), as_report_caller(call.caller)
        return queries.summary_csv(caller, query) if call.wants_csv else queries.summary(caller, query)

    @api.route(endpoints.REPORT_AGENTS)
    def report_agents(call: Context) -> report_rest.AgentsReport | CsvStream:
        query, caller = call.query_as(report_rest.AgentsQuery), as_report_caller(call.caller)
        return queries.agents_csv(caller, query) if call.wants_csv else queries.agents(caller, query)

    @api.route(endpoints.REPORT_CALLS)
    def report_calls(call: Context) -> report_rest.CallList | CsvStream:
        query, caller = call.query_as(report_rest.CallsQuery), as_report_caller(call.caller)
        return call_list.csv(caller, query) if call.wants_csv else call_list.page(caller, query)

    @api.route(endpoints.REPORT_ERRORS)
    def report_errors(call: Context) -> report_rest.ErrorsReport | CsvStream:
        query, caller = call.query_as(report_rest.ErrorsQuery), as_report_caller(call.caller)
        return queries.errors_csv(caller, query) if call.wants_csv else queries.errors(caller, query)

    return api


ENDPOINTS = (
    "health",
    "units",
    "me",
    "dossier",
    "call",
    "calls_per_hour",
    "auth_events",
    "my_calls",
    "dossier_search",
    "queues_waiting",
    "agent_tickets",
    "answer_url",
    "report_summary",
    "report_agents",
    "report_calls",
    "report_errors",
)
mount(app, ENDPOINTS, rest_api)


@once
def aggregates() -> AggregateService:
    """The report counters' consumer, built on the first stream batch."""
    from vkyc.services.aggregates import AggregateService

    return AggregateService()


# -- streams: the aggregates, then the supervisors' live board -----------------------------------------


@app.on_dynamodb_record(
    stream_arn=os.environ.get(
        env.stream_arn_variable("agents"), "arn:aws:dynamodb:::table/agents/stream/unset"
    ),
    batch_size=25,
    starting_position="LATEST",
)
def agent_changes(event: DynamoDBEvent) -> None:
    records = [{"NewImage": r.new_image, "OldImage": r.old_image} for r in event]
    aggregates().agents_changed(records)  # raises to have the batch retried: nothing counts twice
    monitor().agents_changed(records)


@app.on_dynamodb_record(
    stream_arn=os.environ.get(
        env.stream_arn_variable("calls"), "arn:aws:dynamodb:::table/calls/stream/unset"
    ),
    batch_size=25,
    starting_position="LATEST",
)
def call_changes(event: DynamoDBEvent) -> None:
    records = [{"NewImage": r.new_image, "OldImage": r.old_image} for r in event]
    aggregates().calls_changed(records)  # raises to have the batch retried: nothing counts twice
    monitor().calls_changed(records)
