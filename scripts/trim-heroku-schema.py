#!/usr/bin/env python3
"""Writes the part of Heroku's Platform API schema the simulator serves (the resources below
plus every definition they reference), so the simulator's conformance test needs no network
and no 570 KB file. Usage: trim-heroku-schema.py FULL_SCHEMA.json OUT.json"""
import json
import re
import sys

RESOURCES = ["account", "rate-limit", "app", "app-feature", "release", "dyno-size",
             "formation", "dyno", "log-session", "log-drain", "add-on", "add-on-attachment",
             "collaborator", "pipeline-coupling", "config-var", "account-feature"]

def refs(node):
    text = json.dumps(node)
    return set(re.findall(r'"#/definitions/([a-z0-9-]+)', text))

def main(src, dst):
    full = json.load(open(src))
    defs = full["definitions"]
    keep, todo = set(), list(RESOURCES)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(refs(defs[name]) - keep)
    out = {
        "$comment": "Subset of Heroku's Platform API schema (api.heroku.com/schema), written by "
                    "scripts/trim-heroku-schema.py; resources: " + ", ".join(RESOURCES),
        "definitions": {name: defs[name] for name in sorted(keep)},
    }
    with open(dst, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")

if __name__ == "__main__":
    main(*sys.argv[1:])
