"""GitHub Projects (v2): the client (guidesync/trackers/projects.py) and the phase
(guidesync/projects.py) over the real PyGithub requester and the fake GitHub's GraphQL
(tests/fakes/projects.py, validated against its schema excerpt), request by request; and the
``project`` key of the configuration."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from guidesync.config import ConfigError, ProjectSettings, apply_environment, from_mapping, load_config
from guidesync.errors import Invalid
from guidesync.projects import ProjectState, ProjectTask, describe, plan_project, sync_project
from guidesync.trackers.github import GitHubTracker
from guidesync.trackers.projects import ProjectSetupError, ProjectsClient, ProjectUnreachable, fits
from tests.conftest import TOKEN
from tests.fakes.github import FakeGitHub
from tests.test_tracker_github import serve
from tests.tracker_contract import policy

REPO = "acme/shop"
ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ProjectSettings(owner="acme", number=1, date_field="Target")


@pytest.fixture
def server():
    yield from serve(repos=(REPO,))


def gh(server: FakeGitHub) -> GitHubTracker:
    return GitHubTracker(REPO, TOKEN, url=server.url, policy=policy(), timeout=5, web_url=server.web_root)


def client(server: FakeGitHub, settings: ProjectSettings = SETTINGS, kept=None) -> ProjectsClient:
    return ProjectsClient(gh(server), settings, kept)


def graphql(server: FakeGitHub) -> list[dict]:
    """The GraphQL requests sent, as their bodies."""
    return [e.body for e in server.log if e.path == server.graphql_path]


def issues(server: FakeGitHub, n: int) -> list[int]:
    return [server.create_issue(REPO, f"Task {i}") for i in range(n)]


def board(server: FakeGitHub, owner: str = "acme", number: int = 1) -> dict[int, dict]:
    """The project's items by issue number: {"id", field name: value}."""
    by_node = {server.node_id(REPO, n): n for n in server.issues(REPO)}
    return {by_node[c]: v for c, v in server.projects.items(owner, number).items()}


# ------------------------------------------------------------------------------- learn


def test_learn_an_organization_project_in_one_query(server):
    server.projects.create_project("acme", fields={"Target": "DATE", "Notes": "TEXT"})
    c = client(server)
    learned = c.learn()
    project = server.projects.project("acme", 1)
    status, target = project.field_named("Status"), project.field_named("Target")
    assert learned == {
        "owner": "acme", "owner_type": "Organization", "number": 1, "id": project.id, "title": "Roadmap",
        "url": f"{server.web_root}/orgs/acme/projects/1",
        "status_field": "Status", "status_field_id": status.id,
        "todo": "Todo", "todo_id": status.options[0].id, "done": "Done", "done_id": status.options[2].id,
        "date_field": "Target", "date_field_id": target.id,
    }
    assert c.tracker.policy.stats.sent == 1 and len(graphql(server)) == 1
    assert graphql(server)[0]["variables"] == {"owner": "acme", "number": 1}
    assert json.loads(json.dumps(learned)) == learned  # plain: the base keeps it as it is
    assert fits(SETTINGS, learned)


def test_learn_a_user_project_with_the_same_query(server):
    server.projects.create_project("octocat", kind="User")
    server.projects.create_project("octocat", "Second", kind="User")
    settings = ProjectSettings(owner="Octocat", number=2)  # logins ignore case
    learned = client(server, settings).learn()
    assert learned["owner"] == "octocat" and learned["owner_type"] == "User" and learned["title"] == "Second"
    assert "date_field_id" not in learned and learned["date_field"] is None
    assert fits(settings, learned)
    assert len(graphql(server)) == 1


def test_names_match_exactly_else_ignoring_case(server):
    server.projects.create_project("acme", status=("Backlog", "Shipped"), fields={"target": "DATE"})
    settings = ProjectSettings(owner="acme", number=1, todo="backlog", done="Shipped", date_field="Target")
    learned = client(server, settings).learn()
    status = server.projects.project("acme", 1).field_named("Status")
    assert (learned["todo_id"], learned["done_id"]) == (status.options[0].id, status.options[1].id)
    assert learned["todo"] == "backlog"  # the configured names: what fits() compares


@pytest.mark.parametrize("owner, number", [("acme", 7), ("octocat", 1)])
def test_a_missing_project_says_what_to_check(server, owner, number):
    server.projects.create_project("acme")
    server.projects.add_owner("octocat", "User")
    with pytest.raises(ProjectUnreachable) as exc:
        client(server, ProjectSettings(owner=owner, number=number)).learn()
    msg = str(exc.value)
    assert msg.startswith(f"project {owner}#{number}: GitHub shows no such project")
    assert f"Could not resolve to a ProjectV2 with the number {number}." in msg
    assert "project.owner and project.number" in msg and "`project` scope" in msg


def test_an_unknown_owner_is_named(server):
    with pytest.raises(ProjectSetupError, match=r"^project nobody#1: GitHub has no user or organization 'nobody'"):
        client(server, ProjectSettings(owner="nobody", number=1)).learn()


@pytest.mark.parametrize("settings, create, message", [
    (ProjectSettings("acme", 1), {"status": None},
     "project acme#1: it has no field 'Status' (project.status_field); its fields: 'Title', 'Assignees', "),
    (ProjectSettings("acme", 1, status_field="Target"), {"fields": {"Target": "DATE"}},
     "project acme#1: its field 'Target' is a date field; project.status_field must name a single-select field"),
    (ProjectSettings("acme", 1, todo="Backlog"), {},
     "project acme#1: its field 'Status' has no option 'Backlog' (project.todo); it has: 'Todo', 'In Progress', 'Done'"),
    (ProjectSettings("acme", 1, done="Shipped"), {},
     "project acme#1: its field 'Status' has no option 'Shipped' (project.done)"),
    (ProjectSettings("acme", 1, date_field="Due"), {"fields": {"Target": "DATE"}},
     "project acme#1: it has no field 'Due' (project.date_field)"),
    (ProjectSettings("acme", 1, date_field="Notes"), {"fields": {"Notes": "TEXT"}},
     "project acme#1: its field 'Notes' is a text field; project.date_field must name a date field"),
])
def test_a_missing_or_wrong_field_or_option_is_a_clear_error(server, settings, create, message):
    server.projects.create_project("acme", **create)
    with pytest.raises(ProjectSetupError) as exc:
        client(server, settings).learn()
    assert str(exc.value).startswith(message)


def test_a_kept_project_is_used_until_the_configuration_names_another():
    kept = {"owner": "acme", "owner_type": "Organization", "number": 1, "id": "PVT_x", "status_field": "Status",
            "status_field_id": "F", "todo": "Todo", "todo_id": "a", "done": "Done", "done_id": "b",
            "date_field": "Target", "date_field_id": "D"}
    assert fits(SETTINGS, kept) and fits(ProjectSettings("ACME", 1, date_field="Target"), kept)
    for other in (ProjectSettings("acme", 2, date_field="Target"), ProjectSettings("other", 1, date_field="Target"),
                  ProjectSettings("acme", 1), ProjectSettings("acme", 1, done="Shipped", date_field="Target"),
                  ProjectSettings("acme", 1, status_field="Stage", date_field="Target")):
        assert not fits(other, kept)
    assert not fits(SETTINGS, {**kept, "done_id": None}) and not fits(SETTINGS, {})


# ------------------------------------------------------------------------------- items


def test_add_is_idempotent(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    (n,) = issues(server, 1)
    c = client(server)
    c.learn()
    server.reset_log()
    node = server.node_id(REPO, n)
    first = c.add(node)
    assert c.add(node) == first  # GitHub answers the item the issue already has
    assert board(server) == {n: {"id": first}}
    assert [b["variables"]["input"] for b in graphql(server)] == [{"projectId": c.project["id"], "contentId": node}] * 2
    assert c.tracker.policy.stats.writes == 2


def test_status_from_the_box_and_the_date_set_and_cleared(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    (n,) = issues(server, 1)
    c = client(server)
    c.learn()
    item = c.add(server.node_id(REPO, n))
    server.reset_log()
    assert c.set_status(item, False) == c.project["todo_id"]
    assert board(server)[n]["Status"] == "Todo"
    c.set_status(item, True)
    c.set_date(item, "2026-12-18")
    assert board(server)[n] == {"id": item, "Status": "Done", "Target": "2026-12-18"}
    c.set_date(item, None)
    assert board(server)[n] == {"id": item, "Status": "Done"}
    c.update(item, status=False, date="2026-12-24")  # both in one request
    assert board(server)[n] == {"id": item, "Status": "Todo", "Target": "2026-12-24"}
    bodies = graphql(server)
    assert len(bodies) == 5 and c.tracker.policy.stats.writes == 1 + 5  # the add, then one request each
    assert "clearProjectV2ItemFieldValue(input: $date)" in bodies[3]["query"]
    assert bodies[3]["variables"]["date"] == {"projectId": c.project["id"], "itemId": item, "fieldId": c.project["date_field_id"]}
    assert set(bodies[4]["variables"]) == {"status", "date"}


def test_the_fake_takes_only_a_calendar_day_and_an_option_of_the_field(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    (n,) = issues(server, 1)
    c = client(server)
    c.learn()
    item = c.add(server.node_id(REPO, n))
    for day in ("2026-13-01", "2026-12-18T00:00:00Z"):
        with pytest.raises(Invalid, match=r"Variable \$date of type UpdateProjectV2ItemFieldValueInput! was "
                                          "provided invalid value for value.date"):
            c.set_date(item, day)
    c.project = {**c.project, "done_id": "0badf00d"}
    with pytest.raises(Invalid, match="The single select option Id does not belong to the field"):
        c.set_status(item, True)
    assert board(server)[n] == {"id": item}


# ------------------------------------------------------------------------------- the phase


def tasks(server: FakeGitHub, numbers: list[int], *, checked=(), due=None, kept=None, nodes=True) -> list[ProjectTask]:
    due = due or {}
    kept = kept or {}
    out = []
    for n in numbers:
        state = kept.get(n, ProjectState(None, None, None))
        out.append(ProjectTask(n, server.node_id(REPO, n) if nodes else None, n in checked, due.get(n),
                               state.item, state.status, state.date))
    return out


def test_first_sync_then_a_quiet_one_costs_nothing(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    a, b, c_ = issues(server, 3)
    c = client(server)
    result = sync_project(c, {}, tasks(server, [a, b, c_], checked={b}, due={a: "2026-12-18"}))
    assert result.warnings == () and not result.unreachable
    # one query to learn, then per issue one add and one update (status, and the date where there is one)
    assert c.tracker.policy.stats.sent == 1 + 3 + 3 and c.tracker.policy.stats.writes == 6
    assert board(server) == {a: {"id": result.states[a].item, "Status": "Todo", "Target": "2026-12-18"},
                             b: {"id": result.states[b].item, "Status": "Done"},
                             c_: {"id": result.states[c_].item, "Status": "Todo"}}
    p = result.project
    assert result.states == {a: ProjectState(board(server)[a]["id"], p["todo_id"], "2026-12-18"),
                             b: ProjectState(board(server)[b]["id"], p["done_id"], None),
                             c_: ProjectState(board(server)[c_]["id"], p["todo_id"], None)}
    assert result.added == (a, b, c_) and result.updated == (a, b, c_)
    # the next run, with what the base kept: not one request
    server.reset_log()
    again = client(server)
    second = sync_project(again, result.project, tasks(server, [a, b, c_], checked={b}, due={a: "2026-12-18"},
                                                       kept=result.states))
    assert again.tracker.policy.stats.sent == 0 and server.log == []
    assert second.states == result.states and second.project == result.project and second.warnings == ()
    assert describe(SETTINGS, result.project, tasks(server, [a, b, c_], checked={b}, due={a: "2026-12-18"},
                                                    kept=result.states)) == "project acme#1: up to date"


def test_only_what_the_guide_changed_is_written_one_request_an_issue(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    a, b, c_, d = issues(server, 4)
    first = sync_project(client(server), {}, tasks(server, [a, b, c_, d], due={c_: "2026-12-18"}))
    server.projects.set_value("acme", 1, server.node_id(REPO, d), "Status", "In Progress")  # people, on the board
    server.reset_log()
    c = client(server)
    changed = tasks(server, [a, b, c_, d], checked={a}, due={b: "2026-12-01", c_: None}, kept=first.states)
    assert describe(SETTINGS, first.project, changed) == "project acme#1: 1 status to set, 2 dates to set"
    result = sync_project(c, first.project, changed)
    assert c.tracker.policy.stats.sent == 3  # a: status; b: date set; c: date cleared; d: nothing
    bodies = graphql(server)
    assert [set(b["variables"]) for b in bodies] == [{"status"}, {"date"}, {"date"}]
    assert "clearProjectV2ItemFieldValue" in bodies[2]["query"]
    assert board(server)[a]["Status"] == "Done" and board(server)[b]["Target"] == "2026-12-01"
    assert "Target" not in board(server)[c_]
    assert board(server)[d]["Status"] == "In Progress"  # what people set stays while the guide does not change
    assert result.updated == (a, b, c_) and result.added == ()


def test_without_a_date_field_dates_are_left_alone(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    (a,) = issues(server, 1)
    settings = ProjectSettings("acme", 1)
    c = client(server, settings)
    result = sync_project(c, {}, tasks(server, [a], due={a: "2026-12-18"}))
    assert c.tracker.policy.stats.sent == 3 and board(server)[a] == {"id": result.states[a].item, "Status": "Todo"}
    assert result.states[a].date is None


def test_an_issue_without_a_known_node_id_is_read_once(server):
    server.projects.create_project("acme")
    (a,) = issues(server, 1)
    c = client(server, ProjectSettings("acme", 1))
    sync_project(c, {}, tasks(server, [a], nodes=False))
    assert [f"{e.method} {e.path}" for e in server.log] == [
        "POST /graphql", f"GET /repos/{REPO}/issues/{a}", "POST /graphql", "POST /graphql"]


def test_an_item_people_removed_is_added_again_when_the_guide_changes(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    (a,) = issues(server, 1)
    first = sync_project(client(server), {}, tasks(server, [a]))
    server.projects.remove_item("acme", 1, server.node_id(REPO, a))
    server.reset_log()
    c = client(server)
    result = sync_project(c, first.project, tasks(server, [a], checked={a}, kept=first.states))
    # the update (NOT_FOUND), the project asked again (still the same), the add, the update
    assert c.tracker.policy.stats.sent == 4 and result.warnings == ()
    assert board(server)[a] == {"id": result.states[a].item, "Status": "Done"}
    assert result.states[a].item != first.states[a].item and result.added == (a,)


def test_replaced_options_are_learned_again_once(server):
    server.projects.create_project("acme")
    (a,) = issues(server, 1)
    settings = ProjectSettings("acme", 1)
    first = sync_project(client(server, settings), {}, tasks(server, [a]))
    server.projects.replace_options("acme", 1, "Status", ["Todo", "Doing", "Done"])  # every option a new id
    server.reset_log()
    c = client(server, settings)
    result = sync_project(c, first.project, tasks(server, [a], checked={a}, kept=first.states))
    assert c.tracker.policy.stats.sent == 3 and result.warnings == ()  # refused, learned again, set
    assert result.project["done_id"] != first.project["done_id"] and board(server)[a]["Status"] == "Done"


def test_another_project_is_learned_and_every_issue_put_on_it(server):
    server.projects.create_project("acme")
    server.projects.create_project("acme", "Next")
    a, b = issues(server, 2)
    first = sync_project(client(server, ProjectSettings("acme", 1)), {}, tasks(server, [a, b]))
    server.reset_log()
    settings = ProjectSettings("acme", 2)
    plan = plan_project(settings, first.project, tasks(server, [a, b], kept=first.states))
    assert (plan.learn, plan.add, plan.status, plan.dates) == (True, 2, 2, 0)
    c = client(server, settings, first.project)
    assert c.project is None  # the kept one is for another project
    result = sync_project(c, first.project, tasks(server, [a, b], kept=first.states))
    assert c.tracker.policy.stats.sent == 1 + 2 + 2 and result.project["number"] == 2
    assert set(board(server, number=2)) == {a, b} and set(board(server, number=1)) == {a, b}


def test_a_project_deleted_and_made_again_is_noticed(server):
    server.projects.create_project("acme")
    (a,) = issues(server, 1)
    settings = ProjectSettings("acme", 1)
    first = sync_project(client(server, settings), {}, tasks(server, [a]))
    server.projects.delete_project("acme", 1)
    server.projects.create_project("acme")  # number 1 again, another id
    server.reset_log()
    c = client(server, settings)
    result = sync_project(c, first.project, tasks(server, [a], checked={a}, kept=first.states))
    assert c.tracker.policy.stats.sent == 2  # the update (NOT_FOUND), the project asked again
    assert result.project["id"] == server.projects.project("acme", 1).id != first.project["id"]
    assert result.states == {a: ProjectState(None, None, None)}  # put on the new project next run
    assert len(result.warnings) == 1 and "another project than the one learned before" in result.warnings[0]


# -------------------------------------------------------------------- tokens that cannot reach it


@pytest.mark.parametrize("kind, owner, answer", [
    ("actions", "Organization", "Resource not accessible by integration"),
    ("actions", "User", "Could not resolve to a ProjectV2 with the number 1."),
    ("no_scope", "Organization", "Your token has not been granted the required scopes"),
])
def test_a_token_that_cannot_reach_projects_gives_one_warning(server, kind, owner, answer):
    login = "acme" if owner == "Organization" else "octocat"
    server.projects.create_project(login, kind=owner)
    server.projects.token_kind = kind
    a, b = issues(server, 2)
    settings = ProjectSettings(login, 1)
    c = client(server, settings)
    kept = tasks(server, [a, b])
    result = sync_project(c, {}, kept)  # raises nothing
    assert result.unreachable and len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.startswith(f"project {login}#1: ") and answer in warning
    assert "`project` scope" in warning and "GITHUB_TOKEN never can" in warning
    assert result.project == {} and result.states == {a: ProjectState(None, None, None), b: ProjectState(None, None, None)}
    assert c.tracker.policy.stats.sent == 1 and server.projects.items(login, 1) == {}
    assert describe(settings, {}, kept, problem=warning) == warning


def test_a_kept_project_and_the_jobs_token_leave_everything_as_it_was(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    a, b = issues(server, 2)
    first = sync_project(client(server), {}, tasks(server, [a]))
    server.projects.token_kind = "actions"
    server.reset_log()
    c = client(server)
    changed = tasks(server, [a, b], checked={a}, kept=first.states)
    result = sync_project(c, first.project, changed)
    assert result.unreachable and len(result.warnings) == 1 and "Resource not accessible by integration" in result.warnings[0]
    assert c.tracker.policy.stats.sent == 1  # the first write is refused; nothing more is tried
    assert result.project == first.project and result.states == {a: first.states[a], b: ProjectState(None, None, None)}
    assert board(server)[a]["Status"] == "Todo"


def test_a_read_only_token_learns_but_cannot_write(server):
    server.projects.create_project("acme")
    (a,) = issues(server, 1)
    server.projects.token_kind = "read_project"
    c = client(server, ProjectSettings("acme", 1))
    result = sync_project(c, {}, tasks(server, [a]))
    assert result.unreachable and "requires one of the following scopes: ['project']" in result.warnings[0]
    assert c.tracker.policy.stats.sent == 2 and result.project["id"]  # learned (kept), the add refused


# ------------------------------------------------------------------------------ the fake itself


def test_the_fake_validates_documents_against_the_schema(server):
    server.projects.create_project("acme")
    t = gh(server)
    # RepositoryOwner has no projectV2: only ProjectV2Owner does (an inline fragment is needed)
    with pytest.raises(Invalid, match="Field 'projectV2' doesn't exist on type 'RepositoryOwner'"):
        t._graphql("query { repositoryOwner(login: \"acme\") { projectV2(number: 1) { id } } }", {}, "asking")
    # asking an organization and a user of one login always fails one of them
    with pytest.raises(Exception, match="Could not resolve to a User with the login of 'acme'"):
        t._graphql("query { organization(login: \"acme\") { projectV2(number: 1) { id } } "
                   "user(login: \"acme\") { projectV2(number: 1) { id } } }", {}, "asking")
    data = t._graphql("query { organization(login: \"acme\") { projectV2(number: 1) { field(name: \"Status\") "
                      "{ ... on ProjectV2SingleSelectField { options(names: [\"Done\"]) { name } } } } } }", {}, "asking")
    assert data["organization"]["projectV2"]["field"] == {"options": [{"name": "Done"}]}


def test_the_fake_refuses_values_of_the_wrong_kind(server):
    server.projects.create_project("acme", fields={"Target": "DATE"})
    (n,) = issues(server, 1)
    c = client(server)
    c.learn()
    item = c.add(server.node_id(REPO, n))
    query = ("mutation($input: UpdateProjectV2ItemFieldValueInput!) { updateProjectV2ItemFieldValue(input: $input) "
             "{ projectV2Item { id fieldValueByName(name: \"Target\") { ... on ProjectV2ItemFieldDateValue { date } } } } }")
    target = {"projectId": c.project["id"], "itemId": item, "fieldId": c.project["date_field_id"]}
    with pytest.raises(Invalid, match="exactly one `date`"):
        c.tracker._graphql(query, {"input": {**target, "value": {"text": "soon"}}}, "setting", write=True)
    data = c.tracker._graphql(query, {"input": {**target, "value": {"date": "2026-12-18"}}}, "setting", write=True)
    assert data["updateProjectV2ItemFieldValue"]["projectV2Item"]["fieldValueByName"] == {"date": "2026-12-18"}


# ---------------------------------------------------------------------------------- the plan line


def test_the_plan_line():
    items = [ProjectTask(1, "I_1", False, "2026-12-18"), ProjectTask(2, "I_2", True, None)]
    assert describe(None) is None
    assert describe(SETTINGS, {}, items) == ("project acme#1: not learned yet (one query on sync); "
                                             "2 issues to add, 2 statuses to set, 1 date to set")
    assert describe(SETTINGS, {}, [], problem="the token may not use it") == "project acme#1: the token may not use it"


# ----------------------------------------------------------------------------- configuration


def test_the_project_key():
    cfg = from_mapping({"project": {"owner": "acme", "number": 5}})
    assert cfg.project == ProjectSettings("acme", 5, "Status", "Todo", "Done", None)
    cfg = from_mapping({"project": {"owner": " acme ", "number": 5, "status_field": "Stage", "todo": "Open",
                                    "done": "Closed", "date_field": "Target"}})
    assert cfg.project == ProjectSettings("acme", 5, "Stage", "Open", "Closed", "Target")
    assert from_mapping({"project": None}).project is None and from_mapping({}).project is None


@pytest.mark.parametrize("raw, message", [
    ({"project": "acme/5"}, "cfg.yaml: key 'project' must be a mapping with the project's owner and number"),
    ({"project": {"number": 5}}, "cfg.yaml: key 'project' needs 'owner'"),
    ({"project": {"owner": "acme"}}, "cfg.yaml: key 'project' needs 'number'"),
    ({"project": {"owner": "acme", "number": 0}}, "cfg.yaml: key 'project.number' must be the project's number"),
    ({"project": {"owner": "acme", "number": True}}, "cfg.yaml: key 'project.number' must be"),
    ({"project": {"owner": "acme", "number": "5"}}, "cfg.yaml: key 'project.number' must be"),
    ({"project": {"owner": "acme/shop", "number": 5}}, "cfg.yaml: key 'project.owner' must be the login"),
    ({"project": {"owner": "acme", "number": 5, "todo": ""}}, "cfg.yaml: key 'project.todo' must be the name of a status option"),
    ({"project": {"owner": "acme", "number": 5, "date_field": 3}}, "cfg.yaml: key 'project.date_field' must be the name of a field"),
    ({"project": {"owner": "acme", "number": 5, "done": "todo"}}, "cfg.yaml: keys 'project.todo' and 'project.done' name the same"),
    ({"project": {"owner": "acme", "number": 5, "date": "Target"}}, "cfg.yaml: unknown key 'project.date' (did you mean 'project.date_field'?)"),
    ({"tracker": "gitlab", "project": {"owner": "acme", "number": 5}}, "cfg.yaml: key 'project' is a GitHub project; the tracker is 'gitlab'"),
])
def test_bad_project_keys_are_named(raw, message):
    with pytest.raises(ConfigError) as exc:
        from_mapping(raw, "cfg.yaml")
    assert str(exc.value).startswith(message)


def test_messages_name_the_file_and_line(tmp_path):
    path = tmp_path / "guidesync.yaml"
    path.write_text("tracker: github\nproject:\n  owner: acme\n  number: five\n  done: Done\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{path}:4: key 'project.number' must be"):
        load_config(path, {})
    path.write_text("tracker: github\nlabels: [guidesync]\nproject:\n  owner: acme\n  numbr: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:5: unknown key 'project.numbr' \(did you mean 'project.number'\?\)"):
        load_config(path, {})
    path.write_text("tracker: github\nproject:\n  number: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{path}:2: key 'project' needs 'owner'"):
        load_config(path, {})
    path.write_text("project: {owner: acme, number: 5, date_field: Target}\n", encoding="utf-8")
    assert load_config(path, {}).project == ProjectSettings("acme", 5, date_field="Target")


def test_github_only_inside_gitlab_ci_too(tmp_path):
    path = tmp_path / "guidesync.yaml"
    path.write_text("project: {owner: acme, number: 5}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="key 'project' is a GitHub project; the tracker is 'gitlab'"):
        load_config(path, {"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/shop", "CI_SERVER_URL": "https://gitlab.com"})
    cfg = from_mapping({"project": {"owner": "acme", "number": 5}})
    assert apply_environment(cfg, {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop"}).project == cfg.project


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "config" / "guidesync.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


PROJECT_BAD = [
    {"project": "acme/5"}, {"project": {"number": 5}}, {"project": {"owner": "acme"}},
    {"project": {"owner": "acme", "number": 0}}, {"project": {"owner": "acme", "number": True}},
    {"project": {"owner": "acme", "number": "5"}}, {"project": {"owner": "acme/shop", "number": 5}},
    {"project": {"owner": "acme", "number": 5, "todo": " "}}, {"project": {"owner": "acme", "number": 5, "date": "x"}},
    {"project": {"owner": "acme", "number": 5, "date_field": 3}},
]
PROJECT_GOOD = [
    {"project": None}, {"project": {"owner": "acme", "number": 5}},
    {"project": {"owner": "octo-cat_emu", "number": 12, "status_field": "Stage", "todo": "Open", "done": "Shipped",
                 "date_field": "Target"}},
    {"project": {"owner": "acme", "number": 1, "date_field": None}},
]


@pytest.mark.parametrize("raw", PROJECT_BAD, ids=[json.dumps(b) for b in PROJECT_BAD])
def test_schema_and_code_reject_the_same_project_values(raw):
    assert list(_validator().iter_errors(raw)), "the schema accepts it"
    with pytest.raises(ConfigError):
        from_mapping(raw)


@pytest.mark.parametrize("raw", PROJECT_GOOD, ids=[json.dumps(g) for g in PROJECT_GOOD])
def test_schema_and_code_accept_the_same_project_values(raw):
    assert list(_validator().iter_errors(raw)) == []
    from_mapping(raw)


def test_the_schema_lists_the_project_keys_of_the_code():
    schema = json.loads((ROOT / "config" / "guidesync.schema.json").read_text(encoding="utf-8"))
    from dataclasses import fields

    project = schema["properties"]["project"]
    assert set(project["properties"]) == {f.name for f in fields(ProjectSettings)}
    assert project["additionalProperties"] is False and project["required"] == ["owner", "number"]
