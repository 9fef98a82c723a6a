"""guidesync: keep Markdown implementation guides and GitHub/GitLab issues in step."""

#: The one version source: pyproject.toml reads it (``dynamic = ["version"]``), the release workflow
#: checks the tag against it, CHANGELOG.md has an entry for it, and the CI templates pin it.
__version__ = "0.1.0"
