"""A page's resume and its old socket's ``$disconnect`` arrive together (a browser that closes its dead
socket and opens the next one in the same breath). Whichever commits first, the other reads again:
the resume succeeds, the session ends up ACTIVE on the new socket, and the token still opens only one.

On moto, through the session use cases; the race is forced by running the other side between one
side's read and its conditional write.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.test_media_service import World, build_world, new_session, stamped
from vkyc.domain.agent import AgentState
from vkyc.domain.session import SessionState
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Hello, Role
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.sessions import SessionRepository, find_connection
from vkyc.repositories.tables import Agent, Session, WsConnection
from vkyc.services.auth import Principal


@pytest.fixture
def world(tables: Any) -> World:
    return build_world()


def hello(world: World, connection_id: str) -> str:
    """``session.hello`` on ``connection_id``: the resume token its welcome hands out."""
    connection = find_connection(connection_id)
    assert connection is not None
    welcome = world.graph.sessions.hello(
        connection, Hello(action="session.hello", request_id="h-1", protocol=1)
    )
    return welcome.resume_token


def between_read_and_write(
    world: World, monkeypatch: pytest.MonkeyPatch, other_side: Callable[[], None]
) -> None:
    """The next read of a session runs ``other_side`` just after it: the reader's write then meets a
    newer version than the one it planned from."""
    repository = world.graph.sessions.sessions
    real_find = repository.find
    fired: list[bool] = []

    def find(session_id: str, **options: Any) -> Session | None:
        read = real_find(session_id, **options)
        if not fired:
            fired.append(True)
            other_side()
        return read

    monkeypatch.setattr(repository, "find", find)


def resumes_in_between(
    world: World, monkeypatch: pytest.MonkeyPatch, resume: str, connection_id: str
) -> None:
    """A socket ``connection_id`` presents ``resume`` between the next read of the session and its write."""
    sessions = world.graph.sessions
    between_read_and_write(
        world,
        monkeypatch,
        lambda: world.graph.run(sessions.connect(connection_id, token=None, resume=resume)),
    )


def supervisor(world: World) -> tuple[WsConnection, str]:
    connection = new_session("supervisor", "gs.race", unit_id="*")
    return connection, hello(world, connection.connection_id)


def test_a_resume_that_crosses_the_old_sockets_drop_resumes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, resume = supervisor(world)
    sessions = world.graph.sessions
    between_read_and_write(
        world, monkeypatch, lambda: world.graph.dispatcher.run(sessions.disconnect(old.connection_id))
    )

    world.graph.run(sessions.connect("conn-new", token=None, resume=resume))

    session = SessionRepository().get(old.session_id)
    assert (session.state, session.connection_id) == (SessionState.ACTIVE.value, "conn-new")
    assert session.last_request_id == "resume:conn-new"
    with pytest.raises(ProtocolError) as refused:  # the token opened its one socket
        sessions.connect("conn-third", token=None, resume=resume)
    assert refused.value.code == "TOKEN_INVALID"
    assert hello(world, "conn-new")  # and that socket carries on with the next token


def test_a_drop_that_crosses_the_resume_leaves_the_resumed_socket_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, resume = supervisor(world)
    sessions = world.graph.sessions
    resumes_in_between(world, monkeypatch, resume, "conn-new")

    effects = sessions.disconnect(old.connection_id)  # read the session on the old socket, then lost the race

    assert not effects.timers and not effects.events, "a socket no longer carrying the session drops nothing"
    session = SessionRepository().get(old.session_id)
    assert (session.state, session.connection_id) == (SessionState.ACTIVE.value, "conn-new")
    assert find_connection(old.connection_id) is None


def test_two_sockets_presenting_one_token_together_open_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, resume = supervisor(world)
    sessions = world.graph.sessions
    resumes_in_between(world, monkeypatch, resume, "conn-first")

    with pytest.raises(ProtocolError) as refused:
        sessions.connect("conn-second", token=None, resume=resume)

    assert refused.value.code == "TOKEN_INVALID"
    session = SessionRepository().get(old.session_id)
    assert (session.state, session.connection_id) == (SessionState.ACTIVE.value, "conn-first")


def test_a_login_that_crosses_the_old_sessions_end_brings_the_agent_online(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An agent's page logs in again (a reload, another tab) while the previous session ends (its bye,
    # its grace timer): the old end takes the agent OFFLINE between the new login's read of the agent
    # (still online: "keep the state, move the socket") and its read of the agent's live sessions
    # (the old one already gone: nothing to replace). The login must not leave a live session on an
    # OFFLINE agent, whom no status change can then bring back ("ready" is illegal from OFFLINE).
    principal = "tdv.race"
    agent_id = f"a-{uuid.uuid4().hex[:6]}"
    stamped(Agent(agent_id, unit_id="1"), AgentState.UNAVAILABLE.value)
    old = new_session("agent", principal, agent_id=agent_id)
    sessions = world.graph.sessions
    monkeypatch.setattr(
        sessions.auth,
        "principal_of",
        lambda token: Principal(Role.AGENT, principal, "1", agent_id=agent_id, username=principal),
    )
    repository = sessions.sessions
    real_live = repository.live_of_principal
    ended: list[bool] = []

    def live_of_principal(principal_id: str) -> Any:
        if not ended:
            ended.append(True)
            world.graph.dispatcher.run(sessions.bye(old))
        return real_live(principal_id)

    monkeypatch.setattr(repository, "live_of_principal", live_of_principal)

    world.graph.run(sessions.connect("conn-again", token="a-login-token", resume=None))

    agent = AgentRepository().get(agent_id)
    assert (agent.state, agent.connection_id) == (AgentState.UNAVAILABLE.value, "conn-again")
    assert SessionRepository().get(old.session_id).state == SessionState.ENDED.value
