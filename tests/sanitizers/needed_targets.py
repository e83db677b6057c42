#!/usr/bin/env python3
"""Print the build targets that a selection of ctest tests runs.

    needed_targets.py [--dependencies] BUILD_DIR [ctest selection options...]
    e.g. needed_targets.py build-asan -L 'unit|integration' -E 'slurm_templates'

With --dependencies it prints instead the targets those depend on (the
library, the tests' shared objects) that are not themselves in the list:
.ci/sanitize.sh builds them first, then the test programs side by side
(CMake's Makefiles build the targets named on one command line one after
the other, and most test programs are a single source file).

A test "runs" a target when the target's artifact (its executable) appears
anywhere in the test's command line (as written in CTestTestfile.cmake): as the program, or as an argument of a
script (tests/launcher/*.sh receive the launcher and the probe that way).
Artifacts come from CMake's file API (codemodel-v2); .ci/sanitize.sh writes
the query before configuring. Used so that a sanitizer build compiles only
what its tests need (no benches, no launcher unless a test starts it).
"""
import json
import os
import re
import subprocess
import sys


def read_codemodel(build_dir):
    """The file API's targets: [(name, id, artifact paths, dependency ids)]."""
    reply = os.path.join(build_dir, ".cmake", "api", "v1", "reply")
    if not os.path.isdir(reply):
        sys.exit(f"needed_targets: no CMake file API reply in {reply}: "
                 f"create {build_dir}/.cmake/api/v1/query/codemodel-v2 and configure again")
    index = max(f for f in os.listdir(reply) if f.startswith("index-"))
    with open(os.path.join(reply, index)) as f:
        codemodel_file = json.load(f)["reply"]["codemodel-v2"]["jsonFile"]
    with open(os.path.join(reply, codemodel_file)) as f:
        codemodel = json.load(f)
    targets = []
    for target in codemodel["configurations"][0]["targets"]:
        with open(os.path.join(reply, target["jsonFile"])) as f:
            detail = json.load(f)
        paths = [a["path"] if os.path.isabs(a["path"]) else os.path.join(build_dir, a["path"])
                 for a in detail.get("artifacts", [])]
        targets.append((target["name"], target["id"], [os.path.realpath(p) for p in paths],
                        [d["id"] for d in detail.get("dependencies", [])]))
    return targets


def test_arguments(build_dir):
    """Every test's command line, from the CTestTestfile.cmake files (ctest's
    own JSON omits the command while the program is not built yet)."""
    add_test = re.compile(r'^add_test\(\[=\[(.+?)\]=\] (.*)\)$')
    arguments = {}
    for folder, _, files in os.walk(build_dir):
        if "CTestTestfile.cmake" not in files:
            continue
        with open(os.path.join(folder, "CTestTestfile.cmake")) as f:
            for line in f:
                match = add_test.match(line.strip())
                if match:
                    arguments[match.group(1)] = re.findall(r'"([^"]*)"', match.group(2))
    return arguments


def main():
    args = sys.argv[1:]
    want_dependencies = bool(args) and args[0] == "--dependencies"
    if want_dependencies:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    build_dir = os.path.realpath(args[0])
    selection = args[1:]
    shown = subprocess.run(["ctest", "--test-dir", build_dir, "--show-only=json-v1", *selection],
                           check=True, capture_output=True, text=True).stdout
    tests = json.loads(shown)["tests"]
    if not tests:
        sys.exit(f"needed_targets: no test matches {' '.join(selection)}")
    targets = read_codemodel(build_dir)
    by_path = {path: name for name, _, paths, _ in targets for path in paths}
    arguments = test_arguments(build_dir)
    needed = set()
    for test in tests:
        for arg in arguments.get(test["name"], []):
            target = by_path.get(os.path.realpath(arg))
            if target:
                needed.add(target)
    if want_dependencies:
        name_of = {target_id: name for name, target_id, _, _ in targets}
        dependencies = {name_of[d] for name, _, _, deps in targets if name in needed for d in deps}
        needed = dependencies - needed
    print(" ".join(sorted(needed)))


if __name__ == "__main__":
    main()
