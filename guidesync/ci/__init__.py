"""Running guidesync in CI: the files it writes for GitHub Actions and GitLab CI."""
