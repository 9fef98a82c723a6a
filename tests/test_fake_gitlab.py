"""The GitLab fake, exercised through the real python-gitlab client over HTTP."""

from __future__ import annotations

import gitlab
import pytest
import requests
from gitlab import exceptions as glexc

from tests.fakes.gitlab import FakeGitLab, extract_quick_actions

TOKEN = "test-token"


@pytest.fixture
def fake():
    with FakeGitLab(projects=("acme/shop", "acme/platform/shop", "acme/other")) as server:
        yield server


def client(fake: FakeGitLab, token: str = TOKEN, **kw) -> gitlab.Gitlab:
    kw.setdefault("retry_transient_errors", False)
    return gitlab.Gitlab(fake.url, private_token=token, per_page=100, **kw)


@pytest.fixture
def gl(fake):
    return client(fake)


@pytest.fixture
def project(gl):
    return gl.projects.get("acme/shop")


# ------------------------------------------------------------------ projects


def test_project_by_path_and_id(fake, gl):
    p = gl.projects.get("acme/shop")
    assert p.path_with_namespace == "acme/shop"
    assert p.web_url == f"{fake.url}/acme/shop"
    assert p.default_branch == "main" and p.archived is False
    assert p.namespace["full_path"] == "acme"
    assert gl.projects.get(p.id).path_with_namespace == "acme/shop"
    assert fake.requests("GET", r"/projects/acme%2Fshop$")


def test_subgroup_project(fake, gl):
    p = gl.projects.get("acme/platform/shop")
    assert p.namespace["full_path"] == "acme/platform"
    issue = p.issues.create({"title": "Deep"})
    assert issue.web_url == f"{fake.url}/acme/platform/shop/-/issues/1"
    assert issue.references["full"] == "acme/platform/shop#1"
    assert fake.issues("acme/platform/shop")[1]["title"] == "Deep"
    assert fake.issues("acme/shop") == {}


def test_unknown_project_404(gl):
    with pytest.raises(glexc.GitlabGetError) as err:
        gl.projects.get("acme/nope")
    assert err.value.response_code == 404
    assert err.value.error_message == "404 Project Not Found"


def test_user_and_auth_variants(fake):
    gl = client(fake)
    gl.auth()
    assert gl.user.username == "guidesync-bot"
    oauth = gitlab.Gitlab(fake.url, oauth_token=TOKEN)
    assert oauth.projects.get("acme/shop").id
    job = gitlab.Gitlab(fake.url, job_token=TOKEN)
    assert job.projects.get("acme/shop").id
    # credentials never reach the log
    assert all(e.headers.get(h, "<redacted>") == "<redacted>" for e in fake.log
               for h in ("private-token", "authorization", "job-token"))


def test_bad_or_missing_token(fake):
    with pytest.raises(glexc.GitlabAuthenticationError) as err:
        client(fake, token="wrong").projects.get("acme/shop")
    assert err.value.response_code == 401
    assert err.value.error_message == "401 Unauthorized"
    with pytest.raises(glexc.GitlabAuthenticationError):
        gitlab.Gitlab(fake.url).projects.get("acme/shop")


def test_rate_limit_headers_everywhere(fake, gl):
    gl.projects.get("acme/shop")
    r = requests.get(f"{fake.url}/api/v4/projects/999", headers={"PRIVATE-TOKEN": TOKEN})
    assert r.status_code == 404
    for name in ("RateLimit-Limit", "RateLimit-Observed", "RateLimit-Remaining",
                 "RateLimit-Reset", "RateLimit-ResetTime"):
        assert name in r.headers
    assert int(r.headers["RateLimit-Remaining"]) == int(r.headers["RateLimit-Limit"]) - 2
    r = requests.get(f"{fake.url}/api/v4/nothing/here", headers={"PRIVATE-TOKEN": TOKEN})
    assert r.status_code == 404 and r.json() == {"error": "404 Not Found"}


# -------------------------------------------------------------------- issues


def test_create_list_paginate_250(fake, project):
    for n in range(250):
        project.issues.create({"title": f"Issue {n}", "labels": ["guide", "x"]})
    project.issues.create({"title": "unlabelled"})
    fake.close_issue("acme/shop", 3)
    fake.reset_log()
    got = list(project.issues.list(iterator=True, per_page=100, labels=["guide", "x"], state="all"))
    assert len(got) == 250
    assert len({i.iid for i in got}) == 250
    calls = fake.requests("GET", r"/issues$")
    assert len(calls) == 3
    assert [c.query.get("page", ["1"])[0] for c in calls] == ["1", "2", "3"]
    # default order: created_at desc
    assert [i.iid for i in got[:2]] == [250, 249]
    # headers of one page
    r = requests.get(f"{fake.url}/api/v4/projects/acme%2Fshop/issues",
                     params={"per_page": 100, "page": 2, "labels": "guide"},
                     headers={"PRIVATE-TOKEN": TOKEN})
    assert (r.headers["x-page"], r.headers["x-per-page"], r.headers["x-next-page"],
            r.headers["x-prev-page"], r.headers["x-total"], r.headers["x-total-pages"]) == \
        ("2", "100", "3", "1", "250", "3")
    assert set(r.links) == {"next", "prev", "first", "last"}
    assert r.links["next"]["url"].startswith(f"{fake.url}/api/v4/projects/acme%2Fshop/issues?")
    assert "labels=guide" in r.links["next"]["url"]
    # state filter and default per_page (20)
    assert len(project.issues.list(state="closed", get_all=True)) == 1
    r = requests.get(f"{fake.url}/api/v4/projects/acme%2Fshop/issues",
                     headers={"PRIVATE-TOKEN": TOKEN})
    assert len(r.json()) == 20 and r.headers["x-total"] == "251"
    assert r.headers["x-prev-page"] == ""


def test_issue_shape_and_timestamps(fake, project):
    issue = project.issues.create({"title": "T", "description": "body", "labels": "b,a"})
    assert issue.iid == 1 and issue.state == "opened"
    assert issue.labels == ["a", "b"]
    assert issue.milestone is None and issue.closed_at is None
    assert issue.project_id == project.id
    assert issue.web_url == f"{fake.url}/acme/shop/-/issues/1"
    assert issue.created_at == "2026-01-01T00:00:01.000Z" == issue.updated_at
    assert set(fake.labels("acme/shop")) == {"a", "b"}  # created on the fly
    issue.title = "T2"
    issue.save()
    assert issue.updated_at == "2026-01-01T00:00:02.000Z"


def test_updated_after_and_order(fake, project):
    for n in range(5):
        fake.create_issue("acme/shop", f"i{n}")
    fake.edit_issue("acme/shop", 2, title="touched")
    cutoff = fake.issues("acme/shop")[2]["updated_at"]
    got = project.issues.list(updated_after=cutoff, get_all=True)
    assert [i.iid for i in got] == [2]
    got = project.issues.list(order_by="updated_at", sort="asc", get_all=True)
    assert [i.iid for i in got] == [1, 3, 4, 5, 2]
    assert project.issues.list(updated_after="2030-01-01T00:00:00Z", get_all=True) == []


def test_update_close_reopen_labels_milestone(fake, project):
    m = project.milestones.create({"title": "v1"})
    issue = project.issues.create({"title": "T", "milestone_id": m.id, "labels": "a"})
    assert issue.milestone["id"] == m.id and issue.milestone["iid"] == 1
    issue.state_event = "close"
    issue.save()
    assert issue.state == "closed" and issue.closed_at is not None
    assert issue.attributes["closed_by"]["username"] == "guidesync-bot"
    issue.state_event = "reopen"
    issue.save()
    assert issue.state == "opened" and issue.closed_at is None
    project.issues.update(issue.iid, {"add_labels": "b,c", "remove_labels": "a"})
    assert fake.issues("acme/shop")[1]["labels"] == ["b", "c"]
    project.issues.update(issue.iid, {"milestone_id": 0})
    assert fake.issues("acme/shop")[1]["milestone"] is None
    project.issues.update(issue.iid, {"milestone_id": 99999})  # unknown: ignored
    assert fake.issues("acme/shop")[1]["milestone"] is None
    issue = project.issues.get(1)
    issue.labels = ["z"]
    issue.save()
    assert fake.issues("acme/shop")[1]["labels"] == ["z"]


def test_validation_errors(project):
    with pytest.raises(glexc.GitlabCreateError) as err:
        project.issues.create({"title": "x" * 256})
    assert err.value.response_code == 400
    assert err.value.error_message == {"title": ["is too long (maximum is 255 characters)"]}
    with pytest.raises(glexc.GitlabCreateError) as err:
        project.issues.create({"title": "ok", "description": "d" * 1_048_577})
    assert err.value.error_message == {
        "description": ["is too long (maximum is 1048576 characters)"]}
    project.issues.create({"title": "ok", "description": "d" * 1_048_576})


def test_deleted_and_moved(fake, project, gl):
    fake.create_issue("acme/shop", "gone")
    fake.create_issue("acme/shop", "moving", labels=["l"])
    fake.add_note("acme/shop", 2, "hello")
    project.issues.delete(1)
    with pytest.raises(glexc.GitlabGetError) as err:
        project.issues.get(1)
    assert err.value.response_code == 404 and err.value.error_message == "404 Not found"
    new_iid = fake.move_issue("acme/shop", 2, "acme/other")
    old = project.issues.get(2)
    assert old.state == "closed"
    other = gl.projects.get("acme/other")
    new = other.issues.get(new_iid)
    assert old.moved_to_id == new.id
    assert new.title == "moving" and new.labels == ["l"] and new.state == "opened"
    assert [n["body"] for n in fake.notes("acme/other", new_iid)] == ["hello"]
    # the REST move endpoint
    fake.create_issue("acme/shop", "again")
    moved = project.issues.get(3)
    moved.move(other.id)
    assert fake.issues("acme/shop")[3]["moved_to_id"] == moved.id


# ------------------------------------------------------------- quick actions


def test_quick_action_extractor():
    text = "intro\n/close\n  /close\n```\n/close\n```\n>>>\n/label ~x\n>>>\n/closed\n/CLOSE\n"
    clean, cmds = extract_quick_actions(text)
    assert cmds == [("close", ""), ("close", "")]
    assert clean == "intro\n  /close\n```\n/close\n```\n>>>\n/label ~x\n>>>\n/closed"


def test_quick_actions_in_description(fake, project, gl):
    fake.create_label("acme/shop", "bug")
    project.milestones.create({"title": "Sprint 1"})
    desc = "Raw text\n/label ~bug\n/assign @alice\n/milestone %\"Sprint 1\"\n/close\n`/close` is fine"
    issue = project.issues.create({"title": "QA", "description": desc})
    assert issue.description == "Raw text\n`/close` is fine"
    assert issue.labels == ["bug"]
    assert [a["username"] for a in issue.assignees] == ["alice"]
    assert issue.milestone["title"] == "Sprint 1"
    # /close needs an existing issue (GitLab's condition): stripped, not applied on create
    assert issue.state == "opened"
    # on update a raw /close line closes the issue
    issue.description = "still here\n/close"
    issue.save()
    assert issue.state == "closed"
    assert fake.issues("acme/shop")[1]["description"] == "still here"
    # neutralised forms are kept verbatim
    safe = " /close\n\u200b/close\n```\n/close\n```"
    issue2 = project.issues.create({"title": "safe", "description": "x"})
    issue2.description = safe
    issue2.save()
    assert issue2.state == "opened" and issue2.description == safe


def test_quick_action_close_on_create_opt_in(fake, project):
    fake.apply_state_actions_on_create = True
    issue = project.issues.create({"title": "QA", "description": "/close"})
    assert issue.state == "closed" and issue.description == ""


# --------------------------------------------------------------------- notes


def test_notes(fake, project):
    issue = project.issues.create({"title": "N"})
    issue.notes.create({"body": "first"})
    issue.notes.create({"body": "second\n/label ~missing"})
    notes = issue.notes.list(get_all=True)
    assert [n.body for n in notes] == ["second", "first"]  # newest first by default
    assert [n["body"] for n in fake.notes("acme/shop", 1)] == ["first", "second"]
    assert project.issues.get(1).user_notes_count == 2
    # a note made only of quick actions is not stored
    res = issue.notes.create({"body": "/close"})
    assert res.commands_changes == {"state_event": "close"}
    assert fake.issues("acme/shop")[1]["state"] == "closed"
    assert len(fake.notes("acme/shop", 1)) == 2
    assert any(n["body"] == "closed" for n in fake.notes("acme/shop", 1, include_system=True))
    fake.create_label("acme/shop", "needs review")
    issue.notes.create({"body": '/reopen\n/label "needs review"'})
    assert fake.issues("acme/shop")[1]["state"] == "opened"
    assert fake.issues("acme/shop")[1]["labels"] == ["needs review"]


# ---------------------------------------------------------- milestones/labels


def test_milestones(fake, project):
    m = project.milestones.create({"title": "v1", "description": "d"})
    assert (m.iid, m.state, m.project_id) == (1, "active", project.id)
    with pytest.raises(glexc.GitlabCreateError) as err:
        project.milestones.create({"title": "v1"})
    assert err.value.response_code == 400
    assert "already being used for another group or project milestone" in err.value.error_message
    m.state_event = "close"
    m.save()
    assert project.milestones.get(m.id).state == "closed"
    project.milestones.create({"title": "v2"})
    assert [x.title for x in project.milestones.list(state="active", get_all=True)] == ["v2"]
    assert [x.title for x in project.milestones.list(title="v1", get_all=True)] == ["v1"]
    assert [x.title for x in project.milestones.list(search="V", get_all=True)] == ["v1", "v2"]
    fake.rename_milestone("acme/shop", m.id, "v1.0")
    assert fake.milestones("acme/shop")[m.id]["title"] == "v1.0"
    project.milestones.delete(m.id)
    with pytest.raises(glexc.GitlabGetError):
        project.milestones.get(m.id)


def test_group_milestone_usable_on_issue(fake, gl):
    mid = fake.create_group_milestone("acme", "Q1")
    sub = gl.projects.get("acme/platform/shop")
    issue = sub.issues.create({"title": "g", "milestone_id": mid})
    assert issue.milestone["id"] == mid and issue.milestone["group_id"] == fake.group_id("acme")
    assert [i.iid for i in sub.issues.list(milestone="Q1", get_all=True)] == [1]
    group = gl.groups.get("acme")
    assert [m.title for m in group.milestones.list(get_all=True)] == ["Q1"]
    assert list(fake.group_milestones("acme")) == [mid]
    # a group milestone title blocks the same title in descendant projects
    with pytest.raises(glexc.GitlabCreateError):
        sub.milestones.create({"title": "Q1"})
    got = sub.milestones.list(include_parent_milestones=True, get_all=True)
    assert [m.title for m in got] == ["Q1"]


@pytest.mark.parametrize("version,honoured", [("17.8.0-ee", True), ("16.11.0-ee", True), ("15.10.0", True),
                                              ("15.9.0", False), ("14.10.5-ee", False)])
def test_milestone_listing_filters_by_updated_at_from_15_10(fake, gl, project, version, honoured):
    """updated_after / updated_before (GitLab 15.10, gitlab-org/gitlab!106924): honoured from
    15.10 on, silently ignored before (every milestone is listed); GET /version says which."""
    fake.version = version
    old = project.milestones.create({"title": "old"})
    fake.clock.tick(3600)
    mark = fake.clock.iso()
    fake.clock.tick(60)
    project.milestones.create({"title": "new"})
    assert gl.version()[0] == version
    after = [m.title for m in project.milestones.list(updated_after=mark, get_all=True)]
    before = [m.title for m in project.milestones.list(updated_before=mark, get_all=True)]
    assert (after, before) == ((["new"], ["old"]) if honoured else (["new", "old"], ["new", "old"]))
    future = [m.title for m in project.milestones.list(updated_after="2999-01-01T00:00:00Z", get_all=True)]
    assert future == ([] if honoured else ["new", "old"])
    if honoured:
        with pytest.raises(glexc.GitlabListError) as err:
            project.milestones.list(updated_after="yesterday", get_all=True)
        assert err.value.response_code == 400
    assert fake.milestones("acme/shop")[old.id]["updated_at"] < mark


def test_milestone_updated_at_moves_with_its_own_attributes_only(fake, project):
    """Every change of the milestone itself (title, description, dates, state) moves updated_at;
    an issue put into it or taken out does not (``belongs_to :milestone`` without ``touch``), and
    neither does an update that changes nothing."""
    m = project.milestones.create({"title": "v1"})

    def stamp() -> str:
        return fake.milestones("acme/shop")[m.id]["updated_at"]

    seen = [stamp()]
    for change in ({"title": "v1.0"}, {"description": "d"}, {"due_date": "2026-03-01"},
                   {"start_date": "2026-02-01"}, {"state_event": "close"}, {"state_event": "activate"}):
        fake.clock.tick(10)
        project.milestones.update(m.id, change)
        seen.append(stamp())
        assert seen[-1] > seen[-2], change
    fake.clock.tick(10)
    project.milestones.update(m.id, {"title": "v1.0", "description": "d"})  # the same again
    project.milestones.update(m.id, {"state_event": "activate"})
    issue = project.issues.create({"title": "T", "milestone_id": m.id})
    project.issues.update(issue.iid, {"milestone_id": 0})
    fake.close_issue("acme/shop", issue.iid)
    assert stamp() == seen[-1]
    fake.clock.tick(10)
    fake.rename_milestone("acme/shop", m.id, "v2")  # as a person would, in the web UI
    assert stamp() > seen[-1]


def test_include_ancestors_from_16_7(fake, gl):
    """include_ancestors came in 16.7 (include_parent_milestones before it, still accepted)."""
    fake.create_group_milestone("acme", "Q1")
    sub = gl.projects.get("acme/platform/shop")
    fake.version = "16.6.0"
    assert [m.title for m in sub.milestones.list(include_ancestors=True, get_all=True)] == []
    assert [m.title for m in sub.milestones.list(include_parent_milestones=True, get_all=True)] == ["Q1"]
    fake.version = "16.7.0"
    assert [m.title for m in sub.milestones.list(include_ancestors=True, get_all=True)] == ["Q1"]


def test_labels(fake, project):
    project.labels.create({"name": "bug", "color": "#ff0000"})
    with pytest.raises(glexc.GitlabCreateError) as err:
        project.labels.create({"name": "bug", "color": "#ff0000"})
    assert err.value.response_code == 409
    assert err.value.error_message == "Label already exists"
    assert [lb.name for lb in project.labels.list(get_all=True)] == ["bug"]
    fake.create_issue("acme/shop", "i", labels=["bug", "keep"])
    project.labels.delete("bug")
    assert set(fake.labels("acme/shop")) == {"keep"}
    assert fake.issues("acme/shop")[1]["labels"] == ["keep"]
    fake.remove_label("acme/shop", "keep")
    assert fake.issues("acme/shop")[1]["labels"] == []


# ---------------------------------------------------------- permissions/faults


def test_read_only_and_archived(fake, project):
    fake.read_only = True
    with pytest.raises(glexc.GitlabCreateError) as err:
        project.issues.create({"title": "x"})
    assert err.value.response_code == 403 and err.value.error_message == "403 Forbidden"
    fake.read_only = False
    fake.archive("acme/shop")
    with pytest.raises(glexc.GitlabCreateError) as err:
        project.issues.create({"title": "x"})
    assert err.value.response_code == 403
    assert project.issues.list(get_all=True) == []  # reads still work


def test_429_obeyed_by_default_and_raised_when_disabled(fake, project):
    fake.rate_limit(r"/issues$", method="GET", retry_after=0)
    assert project.issues.list(get_all=True) == []  # python-gitlab slept 0 s and retried
    assert [e.status for e in fake.requests("GET", r"/issues$")] == [429, 200]

    fake.rate_limit(r"/issues$", method="GET", retry_after=0)
    with pytest.raises(glexc.GitlabListError) as err:
        project.issues.list(get_all=True, obey_rate_limit=False)
    assert err.value.response_code == 429
    assert err.value.error_message == "Retry later"
    assert isinstance(err.value.__cause__, glexc.GitlabHttpError)

    fault = fake.rate_limit(r"/issues$", method="POST", retry_after=0)
    with pytest.raises(glexc.GitlabHttpError) as err:
        project.manager.gitlab.http_post(f"/projects/{project.id}/issues",
                                         post_data={"title": "x"}, max_retries=0)
    assert err.value.response_code == 429 and fault.fired == 1
    r = fake.requests("POST")[-1]
    assert r.status == 429
    assert fake.issues("acme/shop") == {}


def test_fault_drop_after_creates_but_client_errors(fake, project):
    fake.add_fault(method="POST", path=r"/issues$", kind="drop_after")
    with pytest.raises(requests.exceptions.ConnectionError):
        project.issues.create({"title": "ghost"})
    assert [i["title"] for i in fake.issues("acme/shop").values()] == ["ghost"]
    assert fake.requests("POST")[-1].status == 0


def test_fault_drop_before_does_not_create(fake, project):
    fake.add_fault(method="POST", path=r"/issues$", kind="drop_before")
    with pytest.raises(requests.exceptions.ConnectionError):
        project.issues.create({"title": "never"})
    assert fake.issues("acme/shop") == {}


def test_fault_status_and_delay(fake, project):
    fake.add_fault(method="POST", path=r"/issues$", kind="status", status=502,
                   body={"message": "bad gateway"})
    with pytest.raises(glexc.GitlabCreateError) as err:
        project.issues.create({"title": "no"})
    assert err.value.response_code == 502
    assert fake.issues("acme/shop") == {}
    fake.add_fault(method="GET", path=r"/issues$", kind="delay", delay=0.01)
    assert project.issues.list(get_all=True) == []


def test_retry_transient_errors_duplicates_after_drop_after(fake):
    """With retry_transient_errors=True python-gitlab re-sends a POST whose
    connection dropped after the server applied it: a duplicate."""
    gl = client(fake, retry_transient_errors=True)
    project = gl.projects.get("acme/shop")
    fake.add_fault(method="POST", path=r"/issues$", kind="drop_after")
    project.issues.create({"title": "dup"})
    assert [i["title"] for i in fake.issues("acme/shop").values()] == ["dup", "dup"]


def test_path_prefix():
    with FakeGitLab(prefix="/gitlab", projects=("acme/shop",)) as fake:
        assert fake.url.endswith("/gitlab")
        gl = client(fake)
        project = gl.projects.get("acme/shop")
        for n in range(3):
            project.issues.create({"title": f"p{n}"})
        got = list(project.issues.list(iterator=True, per_page=2))
        assert len(got) == 3
        assert all(e.path.startswith("/gitlab/api/v4/") for e in fake.log)
        assert got[0].web_url == f"{fake.url}/acme/shop/-/issues/3"
        r = requests.get(f"{fake.root_url}/api/v4/projects/acme%2Fshop",
                         headers={"PRIVATE-TOKEN": TOKEN})
        assert r.status_code == 404


def test_external_url_differs_from_the_url_the_api_is_reached_by():
    """GitLab builds every URL of an answer from its external_url, whatever name the request
    used (an internal hostname, a proxy); pagination links keep the request's scheme and path
    but take external_url's host and port."""
    with FakeGitLab(projects=("acme/shop",), external_url="https://gitlab.example.test/") as fake:
        gl = client(fake)
        project = gl.projects.get("acme/shop")
        assert project.web_url == "https://gitlab.example.test/acme/shop"
        assert project.http_url_to_repo == "https://gitlab.example.test/acme/shop.git"
        assert project._links["issues"].startswith("https://gitlab.example.test/api/v4/projects/")
        for n in range(3):
            issue = project.issues.create({"title": f"e{n}"})
        assert issue.web_url == "https://gitlab.example.test/acme/shop/-/issues/3"
        milestone = project.milestones.create({"title": "M"})
        assert milestone.web_url == "https://gitlab.example.test/acme/shop/-/milestones/1"
        r = requests.get(f"{fake.url}/api/v4/projects/acme%2Fshop/issues", params={"per_page": 2},
                         headers={"PRIVATE-TOKEN": TOKEN}, timeout=5)
        assert r.links["next"]["url"].startswith("http://gitlab.example.test:443/api/v4/projects/acme%2Fshop/issues?")
        assert r.headers["X-Next-Page"] == "2"
        assert all(e.path.startswith("/api/v4/") for e in fake.log)
