#!/usr/bin/python3
"""openapi_methods.py - keeps openapi.yaml's method and view tables equal to the server's
(`xaid methods`, `xaid views`).

usage: tools/openapi_methods.py --xaid build/xaid [--spec openapi.yaml] (--check | --write)

The method table lives in the C code (core/methods/, printed by `xaid methods --json`, served
by GET /v1/methods), and so do the inspection views' parameter tables (api/inspect_params.c,
`xaid views --json`, GET /v1/views). openapi.yaml carries them in generated blocks, each
between a "# >>> generated NAME" and a "# <<< generated NAME" comment line:

  schemas        MethodName (the enum of method names), Params_<method> (each method's
                 parameters: type, range or choices, default; what an answer's
                 explanation.params holds), MethodParameterValues (every parameter name any
                 method takes, as a request may send it), ExplanationParamsByMethod (binds
                 explanation.params to its method);
  parameters     mp_<name>: the query parameter of every method parameter name, its range the
                 union over the methods that take it;
  explain-query  the explain operation's references to those query parameters;
  report-query   the same references in the report operation (it takes explain's parameters);
  view-schemas   ViewName (the enum of view names), ViewParams_<view> (the view's table with
                 every value: what an answer's params holds), ViewArgs_<view> (the table's
                 parameters as a request may send them, values also as strings);
  view-parameters  vq_<view>_<name>: the query parameter of every parameter of every view;
  <view>-query   each view operation's references to its query parameters.

--check compares the parsed spec with what the tables give (as data, so formatting is free) and
also validates `xaid methods --json` and `xaid views --json` against the spec's MethodList and
ViewList schemas; it exits 1 naming every difference. --write rewrites the blocks in place.
"""
import argparse
import json
import subprocess
import sys

import yaml

VIEWS = ("filters", "features", "maximize", "embed")
VIEW_PATHS = {v: "/v1/models/{model}/" + v for v in VIEWS}
VIEW_VERBS = {"filters": "get", "features": "post", "maximize": "post", "embed": "post"}
BLOCKS = ("schemas", "parameters", "explain-query", "report-query", "view-schemas",
          "view-parameters") + tuple(v + "-query" for v in VIEWS)


def load_table(xaid, what):
    out = subprocess.run([xaid, what, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def param_schema(p):
    s = {"type": p["type"]}
    for k in ("minimum", "maximum", "enum"):
        if k in p:
            s[k] = p[k]
    s["default"] = p["default"]
    s["description"] = p["description"]
    return s


def union_schema(name, defs):
    """One schema for a parameter name several methods take: the union of their ranges."""
    types = {p["type"] for _, p in defs}
    if len(types) != 1:
        raise SystemExit(f"parameter '{name}' has different types across methods: {types}")
    s = {"type": types.pop()}
    mins = [p["minimum"] for _, p in defs if "minimum" in p]
    maxs = [p["maximum"] for _, p in defs if "maximum" in p]
    if mins:
        s["minimum"] = min(mins)
    if maxs:
        s["maximum"] = max(maxs)
    choices = []
    for _, p in defs:
        choices += [c for c in p.get("enum", []) if c not in choices]
    if choices:
        s["enum"] = choices
    return s


def by_name(methods):
    names = {}
    for m in methods:
        for p in m["parameters"]:
            names.setdefault(p["name"], []).append((m["name"], p))
    return dict(sorted(names.items()))


def generate(methods):
    """The blocks as data: {block: (dict or list)}."""
    schemas = {"MethodName": {"type": "string", "enum": [m["name"] for m in methods]}}
    for m in methods:
        schemas["Params_" + m["name"]] = {
            "description": f"every parameter of {m['name']} with its value",
            "type": "object",
            "required": [p["name"] for p in m["parameters"]],
            "properties": {p["name"]: param_schema(p) for p in m["parameters"]},
            "additionalProperties": False,
        }
    union = by_name(methods)
    props = {}
    for name, defs in union.items():
        u = union_schema(name, defs)
        if u["type"] != "string":
            u["type"] = [u["type"], "string"]
        u["description"] = ", ".join(mn for mn, _ in defs) + ": see GET /v1/methods"
        props[name] = u
    schemas["MethodParameterValues"] = {
        "description": "the methods' own parameters, by name (values may also be strings)",
        "type": "object",
        "properties": props,
    }
    schemas["ExplanationParamsByMethod"] = {
        "description": "explanation.params holds the parameters of explanation.method",
        "allOf": [
            {
                "if": {"properties": {"method": {"const": m["name"]}}, "required": ["method"]},
                "then": {
                    "properties": {"params": {"$ref": "#/components/schemas/Params_" + m["name"]}}
                },
            }
            for m in methods
        ],
    }
    parameters = {}
    for name, defs in union.items():
        parameters["mp_" + name] = {
            "name": name,
            "in": "query",
            "description": ", ".join(mn for mn, _ in defs) + ": see GET /v1/methods",
            "schema": union_schema(name, defs),
        }
    query = [{"$ref": "#/components/parameters/mp_" + name} for name in union]
    return {"schemas": schemas, "parameters": parameters, "explain-query": query,
            "report-query": list(query)}


def generate_views(views):
    """The view blocks as data."""
    schemas = {"ViewName": {"type": "string", "enum": [v["name"] for v in views]}}
    for v in views:
        schemas["ViewParams_" + v["name"]] = {
            "description": f"every parameter of the {v['name']} view with its value",
            "type": "object",
            "required": [p["name"] for p in v["parameters"]],
            "properties": {p["name"]: param_schema(p) for p in v["parameters"]},
            "additionalProperties": False,
        }
    for v in views:
        props = {}
        for p in v["parameters"]:
            s = param_schema(p)
            del s["default"]
            if s["type"] != "string":
                s["type"] = [s["type"], "string"]
            props[p["name"]] = s
        schemas["ViewArgs_" + v["name"]] = {
            "description": f"the {v['name']} view's parameters (values may also be strings); "
                           "see GET /v1/views",
            "type": "object",
            "properties": props,
        }
    parameters = {}
    for v in views:
        for p in v["parameters"]:
            s = param_schema(p)
            desc = s.pop("description")
            parameters[f"vq_{v['name']}_{p['name']}"] = {
                "name": p["name"], "in": "query", "description": desc, "schema": s}
    out = {"view-schemas": schemas, "view-parameters": parameters}
    for v in views:
        out[v["name"] + "-query"] = [
            {"$ref": f"#/components/parameters/vq_{v['name']}_{p['name']}"}
            for p in v["parameters"]]
    return out


def query_refs(spec, path, prefix="mp_", verb="post"):
    """The generated query parameters' references of an operation."""
    op = spec["paths"].get(path, {}).get(verb, {"parameters": []})
    return [p for p in op["parameters"]
            if p.get("$ref", "").startswith("#/components/parameters/" + prefix)]


def spec_blocks(spec):
    """The same blocks as the spec holds them."""
    comp = spec["components"]
    gen_schema_keys = [
        k
        for k in comp["schemas"]
        if k.startswith("Params_")
        or k in ("MethodName", "MethodParameterValues", "ExplanationParamsByMethod")
    ]
    view_keys = [k for k in comp["schemas"]
                 if k.startswith(("ViewParams_", "ViewArgs_")) or k == "ViewName"]
    blocks = {
        "schemas": {k: comp["schemas"][k] for k in gen_schema_keys},
        "parameters": {k: v for k, v in comp["parameters"].items() if k.startswith("mp_")},
        "explain-query": query_refs(spec, "/v1/models/{model}/explain"),
        "report-query": query_refs(spec, "/v1/models/{model}/report"),
        "view-schemas": {k: comp["schemas"][k] for k in view_keys},
        "view-parameters": {k: v for k, v in comp["parameters"].items() if k.startswith("vq_")},
    }
    for v in VIEWS:
        blocks[v + "-query"] = query_refs(spec, VIEW_PATHS[v], "vq_", VIEW_VERBS[v])
    return blocks


def diff(path, want, have, out):
    if isinstance(want, dict) and isinstance(have, dict):
        for k in want:
            if k not in have:
                out.append(f"{path}/{k}: missing in openapi.yaml")
            else:
                diff(f"{path}/{k}", want[k], have[k], out)
        for k in have:
            if k not in want:
                out.append(f"{path}/{k}: in openapi.yaml, not in the method table")
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have)):
            diff(f"{path}/{i}", w, h, out)
    elif want != have or type(want) is not type(have):
        out.append(f"{path}: openapi.yaml has {have!r}, the method table {want!r}")


def check_table_schema(spec, schema, key, table, out):
    """`xaid methods|views --json` must itself be a valid MethodList's or ViewList's list."""
    import jsonschema

    v = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/" + schema},
        resolver=jsonschema.RefResolver("", spec),
    )
    for e in v.iter_errors({key: table}):
        out.append(f"xaid {key} --json against {schema}: {e.json_path}: {e.message}")


def generate_all(methods, views):
    gen = generate(methods)
    gen.update(generate_views(views))
    return gen


def check(spec_path, methods, views):
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    want, have, out = generate_all(methods, views), spec_blocks(spec), []
    for b in BLOCKS:
        diff(b, want[b], have[b], out)
    check_table_schema(spec, "MethodList", "methods", methods, out)
    check_table_schema(spec, "ViewList", "views", views, out)
    for line in out:
        print("openapi_methods:", line)
    names = [m["name"] for m in methods]
    nparams = sum(len(m["parameters"]) for m in methods)
    nview = sum(len(v["parameters"]) for v in views)
    print(f"openapi_methods: {len(names)} methods, {nparams} parameters, "
          f"{len(want['parameters'])} parameter names; {len(views)} views, {nview} parameters: "
          f"{'MISMATCH' if out else 'agree'}")
    return 1 if out else 0


def dump_block(data, indent):
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
    pad = " " * indent
    return "".join(pad + line + "\n" for line in text.splitlines())


def write(spec_path, methods, views):
    gen = generate_all(methods, views)
    with open(spec_path) as f:
        lines = f.read().splitlines(keepends=True)
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        stripped = line.strip()
        if stripped.startswith("# >>> generated "):
            name = stripped[len("# >>> generated "):]
            end = "# <<< generated " + name
            j = i + 1
            while j < len(lines) and lines[j].strip() != end:
                j += 1
            if j == len(lines):
                raise SystemExit(f"openapi_methods: no '{end}' line")
            out.append(dump_block(gen[name], len(line) - len(line.lstrip())))
            out.append(lines[j])
            i = j
        i += 1
    with open(spec_path, "w") as f:
        f.write("".join(out))
    return check(spec_path, methods, views)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xaid", required=True)
    ap.add_argument("--spec", default="openapi.yaml")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--check", action="store_true")
    g.add_argument("--write", action="store_true")
    a = ap.parse_args()
    methods, views = load_table(a.xaid, "methods"), load_table(a.xaid, "views")
    sys.exit(write(a.spec, methods, views) if a.write else check(a.spec, methods, views))


if __name__ == "__main__":
    main()
