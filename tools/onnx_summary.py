#!/usr/bin/python3
"""onnx_summary.py - lists the operators, attributes and input kinds used by ONNX files.

usage: tools/onnx_summary.py [--per-file] [--json] PATH...

PATH is an .onnx file or a folder searched for *.onnx. The default output aggregates every
file: one block per op type with the opsets it appears under, how many nodes use it, each
attribute with every distinct value seen, and for each input position whether it was a
constant (an initializer or a Constant node's output), "folded" (computed from constants
only, so known at load time), "shape" (computed from Shape outputs and constants: known at
load time but for the batch size), "dynamic" (depends on the graph input's values) or
omitted ("").
That is the list of what the engine's importer and ops must accept.

Needs no package beyond the Python standard library: it reads the protobuf wire format
directly, with the field numbers of the ONNX specification (onnx/onnx.proto, IR version 8).
"""
import argparse
import json
import os
import struct
import sys

# Wire types of the protobuf encoding.
VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5

# TensorProto.DataType names for the types an exported CNN can contain.
DTYPES = {1: "float", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
          10: "float16", 11: "double", 16: "bfloat16"}


def varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def fields(buf):
    """Yields (field number, wire type, value) of one message; LEN values are memoryviews."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == VARINT:
            val, pos = varint(buf, pos)
        elif wt == FIXED64:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == LEN:
            n, pos = varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wt == FIXED32:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wt)
        yield num, wt, val


def packed_varints(wt, val):
    if wt == VARINT:
        return [signed64(val)]
    out, pos = [], 0
    while pos < len(val):
        v, pos = varint(val, pos)
        out.append(signed64(v))
    return out


def packed_floats(wt, val):
    return list(struct.unpack("<%df" % (len(val) // 4), val))


def text(val):
    return bytes(val).decode("utf-8", "replace")


def tensor_info(buf):
    """Name, dtype, dims and (for small int64/float tensors) values of a TensorProto."""
    t = {"name": "", "dtype": 0, "dims": [], "raw": None, "i64": [], "f32": []}
    for num, wt, val in fields(buf):
        if num == 1:
            t["dims"] += packed_varints(wt, val)
        elif num == 2:
            t["dtype"] = val
        elif num == 4:
            t["f32"] += packed_floats(wt, val) if wt == LEN else [struct.unpack("<f", val)[0]]
        elif num == 7:
            t["i64"] += packed_varints(wt, val)
        elif num == 8:
            t["name"] = text(val)
        elif num == 9:
            t["raw"] = val
    n = 1
    for d in t["dims"]:
        n *= d
    values = None
    if n <= 8:
        if t["dtype"] == 7:
            values = list(struct.unpack("<%dq" % n, t["raw"])) if t["raw"] is not None else t["i64"]
        elif t["dtype"] == 1:
            values = ([round(v, 6) for v in struct.unpack("<%df" % n, t["raw"])]
                      if t["raw"] is not None else t["f32"])
    return {"name": t["name"], "dtype": DTYPES.get(t["dtype"], str(t["dtype"])),
            "dims": t["dims"], "values": values, "raw": t["raw"], "int64_data": t["i64"],
            "float_data": t["f32"]}


def tensor_str(t):
    s = "%s%s" % (t["dtype"], list(t["dims"]))
    if t["values"] is not None:
        s += "=" + str(t["values"])
    return s


def attribute(buf):
    a = {"name": "", "type": 0, "f": None, "i": None, "s": None, "t": None, "floats": [],
         "ints": [], "strings": []}
    for num, wt, val in fields(buf):
        if num == 1:
            a["name"] = text(val)
        elif num == 2:
            a["f"] = struct.unpack("<f", val)[0]
        elif num == 3:
            a["i"] = signed64(val)
        elif num == 4:
            a["s"] = text(val)
        elif num == 5:
            a["t"] = tensor_info(val)
        elif num == 7:
            a["floats"] += packed_floats(wt, val) if wt == LEN else [struct.unpack("<f", val)[0]]
        elif num == 8:
            a["ints"] += packed_varints(wt, val)
        elif num == 9:
            a["strings"].append(text(val))
        elif num == 20:
            a["type"] = val
    kind = {1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats", 7: "ints",
            8: "strings"}.get(a["type"], "type%d" % a["type"])
    text_value = {1: lambda: repr(round(a["f"] or 0.0, 6)), 2: lambda: str(a["i"] or 0),
             3: lambda: repr(a["s"] or ""), 4: lambda: tensor_str(a["t"]),
             6: lambda: str([round(x, 6) for x in a["floats"]]), 7: lambda: str(a["ints"]),
             8: lambda: str(a["strings"])}.get(a["type"], lambda: "?")()
    value = {1: a["f"] or 0.0, 2: a["i"] or 0, 3: a["s"] or "", 4: a["t"], 6: a["floats"],
             7: a["ints"], 8: a["strings"]}.get(a["type"])
    return a["name"], kind, text_value, value


def value_info(buf):
    name, dims, elem = "", [], 0
    for num, _, val in fields(buf):
        if num == 1:
            name = text(val)
        elif num == 2:
            for n2, _, tt in fields(val):
                if n2 != 1:
                    continue
                for n3, _, v3 in fields(tt):
                    if n3 == 1:
                        elem = v3
                    elif n3 == 2:
                        for _, _, dim in fields(v3):
                            d = "?"
                            for n5, _, v5 in fields(dim):
                                d = v5 if n5 == 1 else text(v5) if n5 == 2 else d
                            dims.append(d)
    return {"name": name, "dtype": DTYPES.get(elem, str(elem)), "shape": dims}


def load(path, with_data=False):
    """The graph of an ONNX file: nodes (op, domain, name, in, out, attrs as (name, kind,
    text, value) tuples, in_kinds), inputs, outputs, opsets. With with_data, also
    "tensors": every initializer's tensor_info by name (its raw bytes included)."""
    with open(path, "rb") as f:
        data = memoryview(f.read())
    model = {"path": path, "opsets": {}, "producer": "", "ir_version": 0, "nodes": [],
             "initializers": 0, "params": 0, "inputs": [], "outputs": [], "tensors": {}}
    graph = None
    for num, _, val in fields(data):
        if num == 1:
            model["ir_version"] = val
        elif num == 2:
            model["producer"] = text(val) + model["producer"]
        elif num == 3:
            model["producer"] += " " + text(val)
        elif num == 7:
            graph = val
        elif num == 8:
            domain, version = "", 0
            for n2, _, v2 in fields(val):
                if n2 == 1:
                    domain = text(v2)
                elif n2 == 2:
                    version = v2
            model["opsets"][domain or "ai.onnx"] = version
    if graph is None:
        raise ValueError("%s: no graph" % path)
    consts = set()
    for num, _, val in fields(graph):
        if num == 1:
            node = {"op": "", "domain": "", "name": "", "in": [], "out": [], "attrs": []}
            for n2, _, v2 in fields(val):
                if n2 == 1:
                    node["in"].append(text(v2))
                elif n2 == 2:
                    node["out"].append(text(v2))
                elif n2 == 3:
                    node["name"] = text(v2)
                elif n2 == 4:
                    node["op"] = text(v2)
                elif n2 == 5:
                    node["attrs"].append(attribute(v2))
                elif n2 == 7:
                    node["domain"] = text(v2)
            model["nodes"].append(node)
        elif num == 5:
            t = tensor_info(val)
            consts.add(t["name"])
            if with_data:
                model["tensors"][t["name"]] = t
            model["initializers"] += 1
            n = 1
            for d in t["dims"]:
                n *= d
            if t["dtype"] == "float":
                model["params"] += n
        elif num == 11:
            model["inputs"].append(value_info(val))
        elif num == 12:
            model["outputs"].append(value_info(val))
    model["inputs"] = [v for v in model["inputs"] if v["name"] not in consts]
    # Nodes are in topological order. Outputs of Constant nodes are constants; outputs of
    # nodes whose inputs are all constant ("folded", e.g. Identity of an initializer) can be
    # computed at load time.
    # Outputs of Shape, and of nodes computing from them and constants only ("shape"), are
    # known at load time but for the batch size.
    folded, shaped = set(), set()
    for node in model["nodes"]:
        kinds = []
        for name in node["in"]:
            kinds.append("empty" if name == "" else "const" if name in consts else
                         "folded" if name in folded else "shape" if name in shaped else
                         "dynamic")
        node["in_kinds"] = kinds
        if node["op"] == "Constant":
            consts.update(node["out"])
        elif node["op"] == "Shape" or (kinds and "dynamic" not in kinds and "shape" in kinds):
            shaped.update(node["out"])
        elif kinds and "dynamic" not in kinds:
            folded.update(node["out"])
    return model


def onnx_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    if n.endswith(".onnx"):
                        yield os.path.join(root, n)
        else:
            yield p


def runs(kinds):
    """('dynamic', 'dynamic', 'const') -> (('dynamic', 2), ('const', 1))"""
    out = []
    for k in kinds:
        if out and out[-1][0] == k:
            out[-1][1] += 1
        else:
            out.append([k, 1])
    return tuple((k, n) for k, n in out)


def aggregate(models):
    """{op: {opset: entry}}; an entry has the node count, files, attribute values and input
    patterns (runs of input kinds, with the run lengths seen for each run)."""
    ops = {}
    for m in models:
        opset = m["opsets"].get("ai.onnx", 0)
        short = os.path.basename(m["path"])
        for node in m["nodes"]:
            key = node["op"] if not node["domain"] else node["domain"] + "." + node["op"]
            e = ops.setdefault(key, {}).setdefault(opset, {
                "count": 0, "models": set(), "attrs": {}, "inputs": {}, "n_out": set()})
            e["count"] += 1
            e["models"].add(short)
            r = runs(node["in_kinds"])
            lengths = e["inputs"].setdefault(tuple(k for k, _ in r), [set() for _ in r])
            for i, (_, n) in enumerate(r):
                lengths[i].add(n)
            e["n_out"].add(len(node["out"]))
            for name, kind, value, _ in node["attrs"]:
                a = e["attrs"].setdefault(name, {"kind": kind, "values": set()})
                a["values"].add(value)
    return ops


def value_key(v):
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def describe(e):
    """The lines printed for one aggregate entry (without its header)."""
    lines = []
    for kinds in sorted(e["inputs"]):
        parts = []
        for k, lengths in zip(kinds, e["inputs"][kinds]):
            lo, hi = min(lengths), max(lengths)
            parts.append(k if hi == 1 else "%s x%d" % (k, lo) if lo == hi else
                         "%s x%d..%d" % (k, lo, hi))
        lines.append("    inputs (%s)" % ", ".join(parts))
    if e["n_out"] != {1}:
        lines.append("    outputs %s" % sorted(e["n_out"]))
    for name in sorted(e["attrs"]):
        a = e["attrs"][name]
        vals = sorted(a["values"], key=value_key)
        shown = vals if len(vals) <= 16 else vals[:16] + ["... (%d values)" % len(vals)]
        lines.append("    %s (%s): %s" % (name, a["kind"], "; ".join(shown)))
    return lines


def json_entry(e):
    return {"count": e["count"], "files": sorted(e["models"]),
            "inputs": [[[k, sorted(n)] for k, n in zip(kinds, e["inputs"][kinds])]
                       for kinds in sorted(e["inputs"])],
            "attrs": {n: {"kind": a["kind"], "values": sorted(a["values"], key=value_key)}
                      for n, a in e["attrs"].items()}}


def print_model(m):
    print("== %s" % m["path"])
    print("   producer %s, ir_version %d, opsets %s, %d nodes, %d initializers, %d float params"
          % (m["producer"].strip(), m["ir_version"], m["opsets"], len(m["nodes"]),
             m["initializers"], m["params"]))
    for v in m["inputs"]:
        print("   input  %s %s %s" % (v["name"], v["dtype"], v["shape"]))
    for v in m["outputs"]:
        print("   output %s %s %s" % (v["name"], v["dtype"], v["shape"]))
    for node in m["nodes"]:
        attrs = ", ".join("%s=%s" % (a[0], a[2]) for a in node["attrs"])
        ins = ", ".join("%s:%s" % (n or "''", k) for n, k in zip(node["in"], node["in_kinds"]))
        print("   %-20s (%s)%s" % (node["op"], ins, "  {" + attrs + "}" if attrs else ""))


def print_aggregate(ops, n_files):
    print("%d op types over %d files" % (len(ops), n_files))
    for key in sorted(ops):
        # Opsets whose nodes look the same (inputs and attributes) share one block.
        groups = []
        for opset in sorted(ops[key]):
            e = ops[key][opset]
            lines = describe(e)
            for g in groups:
                if g["lines"] == lines:
                    g["opsets"].append(opset)
                    g["count"] += e["count"]
                    g["models"] |= e["models"]
                    break
            else:
                groups.append({"opsets": [opset], "lines": lines, "count": e["count"],
                               "models": set(e["models"])})
        for g in groups:
            print("\n%s  opset%s %s, %d nodes in %d files" % (
                key, "s" if len(g["opsets"]) > 1 else "", ", ".join(map(str, g["opsets"])),
                g["count"], len(g["models"])))
            print("\n".join(g["lines"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help=".onnx files or folders")
    ap.add_argument("--per-file", action="store_true", help="also list every node of each file")
    ap.add_argument("--json", action="store_true", help="print the aggregate as JSON")
    args = ap.parse_args()
    models = [load(p) for p in onnx_files(args.paths)]
    if not models:
        sys.exit("onnx_summary: no .onnx files found")
    ops = aggregate(models)
    if args.json:
        out = {k: {str(o): json_entry(e) for o, e in v.items()} for k, v in ops.items()}
        json.dump(out, sys.stdout, indent=1, sort_keys=True)
        print()
        return
    if args.per_file:
        for m in models:
            print_model(m)
        print()
    else:
        for m in models:
            print("%-34s opset %-3s %4d nodes %10d params  ops: %s"
                  % (os.path.basename(m["path"]), m["opsets"].get("ai.onnx", "?"),
                     len(m["nodes"]), m["params"],
                     " ".join(sorted({n["op"] for n in m["nodes"]}))))
        print()
    print_aggregate(ops, len(models))


if __name__ == "__main__":
    main()
