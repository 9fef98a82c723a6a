#!/usr/bin/env bash
# Ensure .cache/openapi/api.github.com.json (GitHub's published OpenAPI
# description, as packaged in @octokit/openapi) exists under the repo root.
#
# Idempotent: does nothing when the file is already there with the expected
# checksum. Only the npm registry is contacted (through `npm pack`). The file
# is extracted into a temporary directory next to its destination and moved
# into place with a single rename, so concurrent runs and interrupted runs
# never leave a partial file behind.
set -euo pipefail

PKG_NAME="@octokit/openapi"
PKG_VERSION="23.0.2"
MEMBER="package/generated/api.github.com.json"
# sha256 of $MEMBER in $PKG_NAME@$PKG_VERSION; change together with the version.
EXPECTED_SHA256="829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a"

die() {
    echo "fetch-openapi: error: $*" >&2
    exit 1
}

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -- "$script_dir/.." && pwd)"
dest_dir="$repo_root/.cache/openapi"
dest="$dest_dir/api.github.com.json"

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 -- "$1" | cut -d' ' -f1
    else
        die "neither sha256sum nor shasum is available"
    fi
}

if [[ -f "$dest" ]]; then
    if [[ "$(sha256_of "$dest")" == "$EXPECTED_SHA256" ]]; then
        exit 0
    fi
    echo "fetch-openapi: $dest has an unexpected checksum; fetching it again" >&2
fi

command -v npm >/dev/null 2>&1 || die "npm is not installed (needed to fetch $PKG_NAME@$PKG_VERSION)"
command -v tar >/dev/null 2>&1 || die "tar is not installed"

mkdir -p -- "$dest_dir" || die "cannot create $dest_dir"
# Same directory as the destination, so the final mv is an atomic rename.
work="$(mktemp -d "$dest_dir/.fetch.XXXXXX")" || die "cannot create a temporary directory in $dest_dir"
trap 'rm -rf -- "$work"' EXIT

echo "fetch-openapi: downloading $PKG_NAME@$PKG_VERSION from the npm registry" >&2
if ! (cd -- "$work" && npm pack "$PKG_NAME@$PKG_VERSION" --pack-destination "$work" \
        --ignore-scripts >"$work/npm-pack.out" 2>"$work/npm-pack.err"); then
    cat -- "$work/npm-pack.err" >&2 || true
    die "npm pack $PKG_NAME@$PKG_VERSION failed (is the npm registry reachable?)"
fi

shopt -s nullglob
tarballs=("$work"/*.tgz)
shopt -u nullglob
[[ ${#tarballs[@]} -eq 1 ]] || die "npm pack did not produce exactly one tarball in $work"

if ! tar -xzf "${tarballs[0]}" -C "$work" -- "$MEMBER"; then
    die "could not extract $MEMBER from ${tarballs[0]##*/}"
fi
extracted="$work/$MEMBER"
[[ -s "$extracted" ]] || die "$MEMBER is missing or empty in ${tarballs[0]##*/}"

actual="$(sha256_of "$extracted")"
[[ "$actual" == "$EXPECTED_SHA256" ]] ||
    die "checksum mismatch for $MEMBER: expected $EXPECTED_SHA256, got $actual"

mv -f -- "$extracted" "$dest" || die "cannot move the description into $dest"
echo "fetch-openapi: wrote $dest" >&2
