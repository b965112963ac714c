#!/usr/bin/env python3
"""Fails when an #include or a CMake link goes against scripts/layers.txt.

Each folder of the product (base, contract, ..., worker) may include headers
of itself and of the folders its line in layers.txt names, nothing else; and
no CMakeLists.txt may link a folder's library (egw_<folder>) to one it may
not use. Media headers are refused in the folders that must stay pure.
Usage: check_layers.py [SOURCE_DIR]  (exit 1 with one line per violation)."""

import os
import re
import sys

SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), ".."))
# Folders that must not see a media library (unit-testable in microseconds).
PURE = {"base", "contract", "compositor"}
MEDIA = re.compile(r"^(gst/|glib-unix|curl/|librdkafka/)")


def layers():
    allowed = {}
    with open(os.path.join(SRC, "scripts", "layers.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            folder, _, deps = line.partition(":")
            allowed[folder.strip()] = set(deps.split()) | {folder.strip()}
    return allowed


def check_includes(allowed):
    bad = []
    inc = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
    for folder in allowed:
        top = os.path.join(SRC, folder)
        for root, _, files in os.walk(top):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, SRC)
                with open(path, errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        m = inc.match(line)
                        if not m:
                            continue
                        target = m.group(2)
                        if m.group(1) == '"':
                            dep = target.split("/", 1)[0]
                            if "/" in target and dep not in allowed[folder]:
                                bad.append("%s:%d: %s includes %s (%s may use: %s)" % (
                                    rel, n, folder, target, folder,
                                    ", ".join(sorted(allowed[folder] - {folder})) or "nothing"))
                        elif folder in PURE and MEDIA.match(target):
                            bad.append("%s:%d: %s must stay free of media/network headers "
                                       "(includes <%s>)" % (rel, n, folder, target))
    return bad


def check_links(allowed):
    bad = []
    link = re.compile(r"target_link_libraries\s*\(\s*egw_([a-z]+)\b([^)]*)\)", re.S)
    for root, dirs, files in os.walk(SRC):
        dirs[:] = [d for d in dirs if not d.startswith(("build", "."))]
        for name in files:
            if name != "CMakeLists.txt":
                continue
            path = os.path.join(root, name)
            with open(path) as f:
                text = f.read()
            for m in link.finditer(text):
                folder = m.group(1)
                if folder not in allowed:
                    continue
                for dep in re.findall(r"\begw_([a-z]+)\b", m.group(2)):
                    if dep in allowed and dep not in allowed[folder]:
                        bad.append("%s: links egw_%s to egw_%s" % (
                            os.path.relpath(path, SRC), folder, dep))
    return bad


def main():
    allowed = layers()
    missing = [f for f in allowed if not os.path.isdir(os.path.join(SRC, f))]
    bad = ["scripts/layers.txt: no folder %s" % f for f in missing]
    bad += check_includes(allowed) + check_links(allowed)
    for b in bad:
        print(b)
    if bad:
        print("%d dependency violation(s); the allowed directions are in scripts/layers.txt"
              % len(bad))
        return 1
    print("layers ok: %s" % " <- ".join(reversed(list(allowed))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
