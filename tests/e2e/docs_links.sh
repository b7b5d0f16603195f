#!/usr/bin/env bash
# Every relative link and image of README.md and docs/*.md points at a file or folder of the repository,
# and every #anchor at a heading of the page it names (GitHub's heading slugs). Code blocks and inline
# code are not links.
# Usage: bash docs_links.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail
root=$(cd "$2/.." && pwd)
/usr/bin/python3 - "$root" <<'PY'
import glob, os, re, sys

root = sys.argv[1]
pages = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))


def prose(path):
    """The page without fenced code blocks."""
    return re.sub(r"^```.*?^```", "", open(path, encoding="utf-8").read(), flags=re.S | re.M)


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


anchors = {}


def anchors_of(path):
    if path not in anchors:
        anchors[path] = {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", prose(path), re.M)}
    return anchors[path]


problems, checked = [], 0
for page in pages:
    text = re.sub(r"`[^`\n]*`", "x", prose(page))  # inline code is not a link (but may be a link's text)
    for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)\)", text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        checked += 1
        path, _, frag = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        where = os.path.relpath(page, root)
        if not os.path.exists(dest):
            problems.append(f"{where}: {target}: no such file")
        elif frag and dest.endswith(".md") and frag not in anchors_of(dest):
            problems.append(f"{where}: {target}: no heading #{frag} in {os.path.relpath(dest, root)}")
for p in problems:
    print("FAIL:", p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"docs_links: ok ({checked} links in {len(pages)} pages)")
PY
