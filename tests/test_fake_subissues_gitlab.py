"""Tasks, the work-item hierarchy and issue links in tests/fakes/gitlab.py, through python-gitlab."""

from __future__ import annotations

import gitlab
import pytest
import requests
from gitlab import exceptions as glexc

from tests.fakes.gitlab import FakeGitLab

TOKEN = "test-token"
UPDATE = """mutation($input: WorkItemUpdateInput!) { workItemUpdate(input: $input) {
  workItem { id iid widgets { ... on WorkItemWidgetHierarchy { parent { id } children { nodes { id iid } } } } }
  errors } }"""
CHILDREN = """query($id: WorkItemID!) { workItem(id: $id) { iid workItemType { name }
  widgets { type ... on WorkItemWidgetHierarchy { hasChildren parent { iid }
    children(first: 100) { nodes { iid } pageInfo { hasNextPage } } } } } }"""


@pytest.fixture
def fake():
    with FakeGitLab(projects=("acme/shop", "acme/other")) as server:
        yield server
    assert not server.errors, server.errors[0]


@pytest.fixture
def gl(fake):
    return gitlab.Gitlab(fake.url, private_token=TOKEN, per_page=100, retry_transient_errors=False)


@pytest.fixture
def project(gl):
    return gl.projects.get("acme/shop")


def gql(gl, query: str, **variables) -> dict:
    return gl.http_post(f"{gl.url}/api/graphql", post_data={"query": query, "variables": variables})


def gid(issue) -> str:
    return f"gid://gitlab/WorkItem/{issue.id}"


def set_parent(gl, child, parent) -> dict:
    return gql(gl, UPDATE, input={"id": gid(child),
                                  "hierarchyWidget": {"parentId": gid(parent) if parent else None}})


def children(gl, issue) -> list[str]:
    data = gql(gl, CHILDREN, id=gid(issue))["data"]["workItem"]
    hierarchy = next(w for w in data["widgets"] if w["type"] == "HIERARCHY")
    return [n["iid"] for n in hierarchy["children"]["nodes"]]


# ----------------------------------------------------------------- tasks


def test_issue_type_task_on_create_and_in_json(project, fake):
    task = project.issues.create({"title": "a task", "issue_type": "task"})
    assert task.issue_type == "task" and task.type == "TASK"
    plain = project.issues.create({"title": "an issue"})
    assert plain.issue_type == "issue" and plain.type == "ISSUE"
    incident = project.issues.create({"title": "fire", "issue_type": "incident"})
    assert incident.type == "INCIDENT"
    with pytest.raises(glexc.GitlabCreateError) as exc:
        project.issues.create({"title": "x", "issue_type": "epic"})
    assert exc.value.response_code == 400
    plain.issue_type = "task"
    plain.save()
    assert project.issues.get(plain.iid).type == "TASK"


def test_tasks_unavailable_knob(project, fake):
    fake.tasks_available = False
    with pytest.raises(glexc.GitlabCreateError) as exc:
        project.issues.create({"title": "a task", "issue_type": "task"})
    assert exc.value.response_code == 400
    assert exc.value.error_message == "issue_type does not have a valid value"


# ------------------------------------------------------------- hierarchy


def test_parent_children_order_and_reorder(gl, project, fake):
    parent = project.issues.create({"title": "parent"})
    tasks = [project.issues.create({"title": f"t{i}", "issue_type": "task"}) for i in range(3)]
    for t in tasks:
        out = set_parent(gl, t, parent)["data"]["workItemUpdate"]
        assert out["errors"] == []
        hier = next(w for w in out["workItem"]["widgets"] if w)
        assert hier["parent"] == {"id": gid(parent)}
    assert children(gl, parent) == [str(t.iid) for t in tasks]
    # reorder: t2 BEFORE t0
    out = gql(gl, UPDATE, input={"id": gid(tasks[2]), "hierarchyWidget": {
        "adjacentWorkItemId": gid(tasks[0]), "relativePosition": "BEFORE"}})
    assert out["data"]["workItemUpdate"]["errors"] == []
    assert fake.children("acme/shop", parent.iid) == [tasks[2].iid, tasks[0].iid, tasks[1].iid]
    gql(gl, UPDATE, input={"id": gid(tasks[2]), "hierarchyWidget": {
        "adjacentWorkItemId": gid(tasks[1]), "relativePosition": "AFTER"}})
    assert fake.children("acme/shop", parent.iid) == [tasks[0].iid, tasks[1].iid, tasks[2].iid]
    # read through project.workItems(iids:)
    q = """query($p: ID!, $iids: [String!]) { project(fullPath: $p) { workItems(iids: $iids) {
             nodes { iid widgets { ... on WorkItemWidgetHierarchy { children { nodes { iid } } } } } } } }"""
    nodes = gql(gl, q, p="acme/shop", iids=[str(parent.iid)])["data"]["project"]["workItems"]["nodes"]
    assert [n["iid"] for n in nodes[0]["widgets"][1]["children"]["nodes"]] == [str(t.iid) for t in tasks]
    # unlink
    assert set_parent(gl, tasks[0], None)["data"]["workItemUpdate"]["errors"] == []
    assert fake.children("acme/shop", parent.iid) == [tasks[1].iid, tasks[2].iid]


def test_reorder_errors(gl, project):
    p1, p2 = project.issues.create({"title": "p1"}), project.issues.create({"title": "p2"})
    a, b, c = [project.issues.create({"title": t, "issue_type": "task"}) for t in "abc"]
    set_parent(gl, a, p1)
    set_parent(gl, b, p1)
    set_parent(gl, c, p2)
    cases = [
        ({"adjacentWorkItemId": gid(b)}, "Relative position is not valid."),
        ({"relativePosition": "AFTER"}, "Relative position is not valid."),
        ({"adjacentWorkItemId": gid(b), "relativePosition": "AFTER", "childrenIds": [gid(b)]},
         "Relative position cannot be combined with childrenIds."),
        ({"adjacentWorkItemId": gid(c), "relativePosition": "AFTER"},
         "The adjacent work item's parent must match the current parent work item."),
        ({"parentId": gid(p2), "adjacentWorkItemId": gid(b), "relativePosition": "AFTER"},
         "The adjacent work item's parent must match the new parent work item."),
    ]
    for widget, message in cases:
        out = gql(gl, UPDATE, input={"id": gid(a), "hierarchyWidget": widget})
        assert out["data"]["workItemUpdate"]["errors"] == [message], widget
    # moving to another parent at a position
    out = gql(gl, UPDATE, input={"id": gid(a), "hierarchyWidget": {
        "parentId": gid(p2), "adjacentWorkItemId": gid(c), "relativePosition": "BEFORE"}})
    assert out["data"]["workItemUpdate"]["errors"] == []
    assert children(gl, p2) == [str(a.iid), str(c.iid)]


def test_hierarchy_rules(gl, project, fake):
    issue, other_issue = project.issues.create({"title": "i"}), project.issues.create({"title": "j"})
    task, task2 = [project.issues.create({"title": t, "issue_type": "task"}) for t in ("t", "u")]
    out = set_parent(gl, other_issue, issue)["data"]["workItemUpdate"]  # Issue -> Issue
    assert out["errors"] == [f"#{other_issue.iid} cannot be added: it's not allowed to add this type of parent item"]
    out = set_parent(gl, task2, task)["data"]["workItemUpdate"]  # a task cannot have children
    assert "not allowed to add this type of parent item" in out["errors"][0]
    # one parent: setting another parent moves it
    set_parent(gl, task, issue)
    set_parent(gl, task, other_issue)
    assert fake.children("acme/shop", issue.iid) == [] and fake.children("acme/shop", other_issue.iid) == [task.iid]
    # another project
    foreign = gl.projects.get("acme/other").issues.create({"title": "x", "issue_type": "task"})
    out = set_parent(gl, foreign, issue)["data"]["workItemUpdate"]
    assert out["errors"] == ["acme/other#1 cannot be added: parent must be in the same project or group as child."]
    # unknown parent, unknown item, bad gid
    out = gql(gl, UPDATE, input={"id": gid(task), "hierarchyWidget": {"parentId": "gid://gitlab/WorkItem/999999"}})
    assert out["data"]["workItemUpdate"]["errors"][0].startswith("No matching work item found")
    out = gql(gl, UPDATE, input={"id": "gid://gitlab/WorkItem/999999", "hierarchyWidget": {"parentId": None}})
    assert out["data"] == {"workItemUpdate": None} and "does not exist" in out["errors"][0]["message"]
    out = gql(gl, UPDATE, input={"id": f"gid://gitlab/Issue/{task.id}"})
    assert "does not represent an instance of WorkItem" in out["errors"][0]["extensions"]["problems"][0]["explanation"]


def test_children_limit(gl, project, fake):
    fake.max_children = 3
    parent = project.issues.create({"title": "p"})
    tasks = [project.issues.create({"title": f"t{i}", "issue_type": "task"}) for i in range(4)]
    for t in tasks[:3]:
        assert set_parent(gl, t, parent)["data"]["workItemUpdate"]["errors"] == []
    out = set_parent(gl, tasks[3], parent)["data"]["workItemUpdate"]
    assert out["errors"] == [f"#{tasks[3].iid} cannot be added: parent already has maximum number of children."]
    fake.close_issue("acme/shop", tasks[0].iid)  # closed children still count
    assert set_parent(gl, tasks[3], parent)["data"]["workItemUpdate"]["errors"]


def test_default_limit_is_100(gl, project, fake):
    parent = project.issues.create({"title": "p"})
    for i in range(100):
        iid = fake.create_issue("acme/shop", f"t{i}")
        fake.set_issue_type("acme/shop", iid, "task")
        fake.set_parent("acme/shop", iid, parent.iid)
    extra = project.issues.create({"title": "t101", "issue_type": "task"})
    assert "maximum number of children" in set_parent(gl, extra, parent)["data"]["workItemUpdate"]["errors"][0]
    page = gql(gl, CHILDREN, id=gid(parent))["data"]["workItem"]["widgets"][1]["children"]
    assert len(page["nodes"]) == 100 and page["pageInfo"]["hasNextPage"] is False


def test_childrenIds_on_the_parent(gl, project, fake):
    parent = project.issues.create({"title": "p"})
    a, b = [project.issues.create({"title": t, "issue_type": "task"}) for t in "ab"]
    out = gql(gl, UPDATE, input={"id": gid(parent), "hierarchyWidget": {"childrenIds": [gid(a), gid(b)]}})
    assert out["data"]["workItemUpdate"]["errors"] == []
    assert fake.children("acme/shop", parent.iid) == [a.iid, b.iid]


def test_linked_items_cannot_become_parent_and_child(gl, project, fake):
    parent = project.issues.create({"title": "p"})
    task = project.issues.create({"title": "t", "issue_type": "task"})
    parent.links.create({"target_project_id": project.id, "target_issue_iid": task.iid})
    out = set_parent(gl, task, parent)["data"]["workItemUpdate"]
    assert out["errors"] == [f"#{task.iid} cannot be added: cannot assign a linked work item as a parent"]


def test_graphql_validation_and_knobs(gl, fake):
    out = gql(gl, 'mutation { workItemUpdate(input: {id: "gid://gitlab/WorkItem/1", '
                  'hierarchyWidget: {parentId: null, position: 1}}) { errors } }')
    assert out["errors"][0]["extensions"]["code"] == "argumentLiteralsIncompatible"
    out = gql(gl, '{ workItem(id: "gid://gitlab/WorkItem/1") { iid nope } }')
    assert out["errors"][0]["message"] == "Field 'nope' doesn't exist on type 'WorkItem'"
    r = requests.post(f"{fake.url}/api/graphql", json={"query": "{ currentUser { username } }"},
                      headers={"PRIVATE-TOKEN": "wrong"})
    assert r.status_code == 401
    r = requests.post(f"{fake.url}/api/graphql", json={"query": '{ project(fullPath: "acme/shop") { id } }'})
    assert r.status_code == 200 and r.json() == {"data": {"project": None}}  # anonymous
    fake.graphql_enabled = False
    with pytest.raises(glexc.GitlabHttpError) as exc:
        gql(gl, "{ currentUser { username } }")
    assert exc.value.response_code == 404


def test_graphql_under_a_relative_root():
    with FakeGitLab(projects=("acme/shop",), prefix="/gitlab") as fake:
        gl = gitlab.Gitlab(fake.url, private_token=TOKEN, retry_transient_errors=False)
        out = gql(gl, "{ currentUser { username } }")
        assert out == {"data": {"currentUser": {"username": "guidesync-bot"}}}


# ----------------------------------------------------------- issue links


def test_links_create_list_delete(gl, project, fake):
    a, b = project.issues.create({"title": "a"}), project.issues.create({"title": "b"})
    other = gl.projects.get("acme/other").issues.create({"title": "c"})
    source, target = a.links.create({"target_project_id": project.id, "target_issue_iid": b.iid})
    assert (source.iid, target.iid) == (a.iid, b.iid)
    a.links.create({"target_project_id": "acme/other", "target_issue_iid": other.iid,
                    "link_type": "relates_to"})
    rows = a.links.list()
    assert [(r.iid, r.link_type) for r in rows] == [(b.iid, "relates_to"), (other.iid, "relates_to")]
    assert all(r.issue_link_id and r.link_created_at for r in rows)
    assert [r.iid for r in b.links.list()] == [a.iid]
    with pytest.raises(glexc.GitlabCreateError) as exc:
        b.links.create({"target_project_id": project.id, "target_issue_iid": a.iid})
    assert exc.value.response_code == 409
    with pytest.raises(glexc.GitlabCreateError) as exc:
        a.links.create({"target_project_id": project.id, "target_issue_iid": 999})
    assert exc.value.response_code == 404
    a.links.delete(rows[0].issue_link_id)
    assert [r.iid for r in a.links.list()] == [other.iid]
    with pytest.raises(glexc.GitlabDeleteError):
        a.links.delete(rows[0].issue_link_id)
    answer = gl.http_get(f"/projects/{project.id}/issues/{a.iid}/links/{rows[1].issue_link_id}")
    assert answer["link_type"] == "relates_to" and answer["target_issue"]["iid"] == other.iid


def test_blocking_links_need_premium(gl, project, fake):
    a, b = project.issues.create({"title": "a"}), project.issues.create({"title": "b"})
    with pytest.raises(glexc.GitlabCreateError) as exc:
        a.links.create({"target_project_id": project.id, "target_issue_iid": b.iid, "link_type": "blocks"})
    assert exc.value.response_code == 403
    fake.tier = "premium"
    a.links.create({"target_project_id": project.id, "target_issue_iid": b.iid, "link_type": "blocks"})
    assert [r.link_type for r in a.links.list()] == ["blocks"]
    assert [r.link_type for r in b.links.list()] == ["is_blocked_by"]
    with pytest.raises(glexc.GitlabCreateError) as exc:
        a.links.create({"target_project_id": project.id, "target_issue_iid": b.iid, "link_type": "nope"})
    assert exc.value.response_code == 400
