"""The demo data file: the shipped one validates; broken ones are refused naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.demo.schema import DEMO_FILE, DemoData, DemoDataError, load_demo_file, parse_demo_data
from vkyc.domain.dossier import DossierState
from vkyc.domain.policy import DEFAULT_SUB_TYPE_POLICY, video_call_required

SHIPPED = DEMO_FILE.read_text(encoding="utf-8")

MINIMAL = """
[[units]]
id = 1
name = "Công ty khu vực 1"
serves = [1, 2]

[[units]]
id = 2
name = "Công ty khu vực 2"

[[groups]]
id = "g1"
unit = 1
name = "Team 1"

[[queues]]
id = "q1"
unit = 1
name = "Queue 1"
groups = [{ group = "g1", priority = 1 }]

[[hotlines]]
number = "19001001"
unit = 1
name = "Hotline 1"
queue = "q1"

[[agents]]
username = "alice"
name = "Alice"
unit = 1
groups = ["g1"]
password = "alice-password"

[[agents]]
username = "bob"
name = "Bob"
unit = 1
groups = ["g1"]
password = "bob-password"

[[dossiers]]
id = "HS-1"
unit = 2
state = "W"
dealer_account = "dealer.1"
images = { id_front_key = "d/1/f.jpg", id_back_key = "d/1/b.jpg", portrait_key = "d/1/p.jpg" }

[dossiers.customer]
name = "C"
id_number = "001090012345"
subscriber_number = "0901000101"
sub_type = "ZP"
customer_type = "KHCN"
payment_type = "prepaid"
"""


def write(tmp_path: Path, text: str, name: str = "demo.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the test's anchor {old!r} must occur exactly once"
    return text.replace(old, new)


def refused(tmp_path: Path, text: str) -> DemoDataError:
    path = write(tmp_path, text)
    with pytest.raises(DemoDataError) as info:
        load_demo_file(path)
    assert str(path) in str(info.value)
    return info.value


# --- the shipped file -----------------------------------------------------------------------------


def test_shipped_demo_file_validates():
    data = load_demo_file()
    assert [u.id for u in data.units] == list(range(1, 10))
    assert all(u.name == f"Công ty khu vực {u.id}" for u in data.units)


def test_shipped_serving_map_matches_the_domain():
    data = load_demo_file()
    assert {u.id for u in data.units if u.is_serving} == {1, 2, 3, 5, 8, 9}
    assert data.serving_unit_of(4) == 1
    assert data.serving_unit_of(6) == 1
    assert data.serving_unit_of(7) == 3
    assert all(data.serving_unit_of(u) == u for u in (1, 2, 3, 5, 8, 9))


def test_shipped_configuration_shape():
    data = load_demo_file()
    serving = {1, 2, 3, 5, 8, 9}
    assert sorted(h.unit for h in data.hotlines) == sorted(serving)  # one hotline per serving unit
    assert [h.number for h in data.hotlines if h.allow_call_out] == ["19001001"]
    assert {s.unit for s in data.supervisors} == serving
    overflow = [qg for q in data.queues for qg in q.groups if qg.overflow_after_s is not None]
    assert len(overflow) == 1
    assert {a.unit for a in data.agents} >= {1, 2, 3}
    assert len({k.unit for k in data.api_keys}) == 9


def test_shipped_dossiers_cover_every_state_and_the_counter_flag():
    data = load_demo_file()
    assert {d.state for d in data.dossiers} == set(DossierState)
    assert {d.unit for d in data.dossiers} == {1, 4, 6, 7}
    assert any(d.counter_kyc_required for d in data.dossiers)
    for d in data.dossiers:  # every one can be decided by the policy (no unknown SUB_TYPE)
        c = d.customer
        video_call_required(data.sub_type_policy, c.sub_type, c.customer_type, c.payment_type)


def test_shipped_file_uses_the_default_policy_and_a_unit_override():
    data = load_demo_file()
    assert data.sub_type_policy == DEFAULT_SUB_TYPE_POLICY
    assert data.unit_settings(3).ring_timeout_s == 45
    assert data.unit_settings(1).ring_timeout_s == data.settings.ring_timeout_s


def test_minimal_file_validates(tmp_path):
    data = load_demo_file(write(tmp_path, MINIMAL))
    assert isinstance(data, DemoData)
    assert data.serving_unit_of(2) == 1
    assert data.dossiers[0].customer.subscriber_number == "84901000101"


def test_policy_table_in_the_file_replaces_the_default(tmp_path):
    text = (
        MINIMAL
        + '\n[[sub_type_policy]]\nsub_type = "ZP"\nname = "Z"\nicc_profile = "T"\nkhcn = "N"\nkhdn = "Y"\n'
    )
    data = load_demo_file(write(tmp_path, text))
    assert [r.sub_type for r in data.sub_type_policy] == ["ZP"]
    assert data.sub_type_policy[0].khcn is False


# --- broken files ---------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(DemoDataError, match="cannot read"):
        load_demo_file(tmp_path / "nope.toml")


def test_toml_syntax_error_names_the_line(tmp_path):
    text = edit(MINIMAL, 'name = "Team 1"', 'name = "Team 1')
    error = refused(tmp_path, text)
    assert "TOML syntax error" in str(error)
    line = MINIMAL.splitlines().index('name = "Team 1"') + 1
    assert f"line {line}" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        # an unknown field, at the top, in a table and in a nested inline table
        ("[[units]]\nid = 1\n", 'colour = "red"\n[[units]]\nid = 1\n', "colour", "Extra inputs"),
        ('username = "bob"', 'username = "bob"\nemail = "b@x"', "agents[1].email", "Extra inputs"),
        ('sub_type = "ZP"', 'sub_type = "ZP"\nage = 3', "dossiers[0].customer.age", "Extra inputs"),
        (
            'portrait_key = "d/1/p.jpg" }',
            'portrait_key = "d/1/p.jpg", x = 1 }',
            "dossiers[0].images.x",
            "Extra",
        ),
        # dangling references
        (
            'unit = 1\ngroups = ["g1"]\npassword = "bob-password"',
            'unit = 12\ngroups = ["g1"]\npassword = "bob-password"',
            "agents[1].unit",
            "unit 12 does not exist",
        ),
        (
            'groups = ["g1"]\npassword = "bob-password"',
            'groups = ["g9"]\npassword = "bob-password"',
            "agents[1].groups[0]",
            "group 'g9' does not exist",
        ),
        ('queue = "q1"', 'queue = "q9"', "hotlines[0].queue", "queue 'q9' does not exist"),
        (
            '{ group = "g1", priority = 1 }',
            '{ group = "gx", priority = 1 }',
            "queues[0].groups[0].group",
            "'gx'",
        ),
        ("serves = [1, 2]", "serves = [1, 2, 5]", "units[0].serves[2]", "unit 5 does not exist"),
        ('id = "HS-1"\nunit = 2', 'id = "HS-1"\nunit = 7', "dossiers[0].unit", "unit 7 does not exist"),
        # the serving map
        ("serves = [1, 2]", "serves = [2]", "units[0].serves", "must serve itself"),
        (
            'name = "Công ty khu vực 2"',
            'name = "Công ty khu vực 2"\nserves = [2, 1]',
            "units[1].serves[1]",
            "already served by unit",
        ),
        (
            '[[groups]]\nid = "g1"\nunit = 1',
            '[[groups]]\nid = "g1"\nunit = 2',
            "groups[0].unit",
            "no agent team",
        ),
        # uniqueness
        ('username = "bob"', 'username = "alice"', "agents[1].username", "'alice' is used more than once"),
        # settings
        (
            "[[units]]\nid = 1\n",
            "[settings]\nring_timeout_s = 0\n\n[[units]]\nid = 1\n",
            "settings.ring_timeout_s",
            "greater than 0",
        ),
        (
            "[[units]]\nid = 1\n",
            '[settings]\nlogin_policy = "whatever"\n\n[[units]]\nid = 1\n',
            "settings.login_policy",
            "refuse",
        ),
        (
            "serves = [1, 2]",
            "serves = [1, 2]\nsettings = { sla_target_percent = 120 }",
            "units[0].settings.sla_target_percent",
            "less than or equal to 100",
        ),
        # dossier fields
        ('state = "W"', 'state = "X"', "dossiers[0].state", "'N', 'W', 'A', 'R', 'C' or 'D'"),
        ('sub_type = "ZP"', 'sub_type = "NOPE"', "dossiers[0].customer.sub_type", "not in sub_type_policy"),
        ('id_number = "001090012345"', 'id_number = "12345"', "dossiers[0].customer.id_number", "pattern"),
        (
            'payment_type = "prepaid"',
            'payment_type = "weekly"',
            "dossiers[0].customer.payment_type",
            "prepaid",
        ),
        # types
        ("[[units]]\nid = 1\n", '[[units]]\nid = "one"\n', "units[0].id", "integer"),
        ('password = "bob-password"', 'password = "short"', "agents[1].password", "at least 8"),
    ],
)
def test_broken_file_is_refused_naming_the_field(tmp_path, old, new, path, words):
    error = refused(tmp_path, edit(MINIMAL, old, new))
    lines = [line for line in str(error).splitlines() if f": {path}: " in line]
    assert lines, f"no error names {path!r}:\n{error}"
    assert any(words in line for line in lines), str(error)


def test_every_problem_is_reported_at_once(tmp_path):
    text = edit(MINIMAL, 'username = "bob"', 'username = "alice"')
    text = edit(text, 'queue = "q1"', 'queue = "q9"')
    error = refused(tmp_path, text)
    paths = {issue.path for issue in error.issues}
    assert {"agents[0].username", "agents[1].username", "hotlines[0].queue"} <= paths


def test_shipped_file_with_a_dangling_agent_unit(tmp_path):
    text = edit(
        SHIPPED,
        'username = "tdv1.kv3"\nname = "Võ Ngọc Anh"\nunit = 3',
        'username = "tdv1.kv3"\nname = "Võ Ngọc Anh"\nunit = 12',
    )
    error = refused(tmp_path, text)
    assert f"{tmp_path / 'demo.toml'}: agents[4].unit: unit 12 does not exist" in str(error).splitlines()


def test_parse_demo_data_runs_the_same_checks_without_a_file():
    with pytest.raises(DemoDataError) as info:
        parse_demo_data({"units": [{"id": 1, "name": "U", "serves": [2]}]}, "inline")
    assert str(info.value).startswith("inline: units[0].serves")
