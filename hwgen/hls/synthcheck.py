"""Is the generated kernel synthesisable as written? Checked by `dna-hwgen emit` before it
writes a project, so a violation is found here rather than in Vivado.

Rules, over the kernel sources (every src/ file that synthesis compiles; dna_hls_compat.h
is the g++ stand-in, never compiled under __SYNTHESIS__) and over the template context:
- no dynamic allocation (new, delete, malloc, ...), no standard containers or strings;
- no recursion (a cycle in the call graph of the functions the kernel defines);
- every loop bound a compile-time constant: integer literals, `Struct::MEMBER` constants
  and non-type template parameters; a loop that can exit early (break, return, goto)
  carries a LOOP_TRIPCOUNT pragma, else Vivado's latency report shows "?";
- every array of fixed size (only a function parameter may be written `name[]`);
- every ARRAY_PARTITION names an array declared in that function, within its dims, with a
  factor no larger than the partitioned dim;
- a complete partition, and a fully unrolled loop, spans at most MAX_COMPLETE elements.
Each violation is one line naming the file, the function and the loop or array.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx

from hwgen.errors import HwgenError
from hwgen.hls import cscan

# Largest complete partition / full unroll (elements or iterations). Vivado HLS stops
# unrolling bigger loops with "XFORM 203-504 Stop unrolling loop ... excessive memory
# usage"; hls4ml's maintainers put the limit at 4,096 (fastmachinelearning/hls4ml#1013)
# and hls4ml's build_prj.tcl sets `config_array_partition -maximum_size 4096`.
MAX_COMPLETE = 4096
SIMULATION_ONLY = ("src/dna_hls_compat.h",)  # never compiled by HLS synthesis
_FORBIDDEN = (
    (re.compile(r"\bnew\b"), "dynamic allocation (new)"),
    (re.compile(r"\bdelete\b"), "dynamic allocation (delete)"),
    (re.compile(r"\b(?:malloc|calloc|realloc|free|alloca)\s*\("), "dynamic allocation"),
    (re.compile(r"\bstd::(?:vector|deque|list|forward_list|map|multimap|set|multiset|"
                r"unordered_\w+|string|queue|priority_queue|stack|shared_ptr|unique_ptr)\b"),
     "a standard container"),
    (re.compile(r"#\s*include\s*<(?:vector|deque|list|map|set|unordered_\w+|string|queue|"
                r"stack|memory)>"), "a standard container header"),
)


@dataclass(frozen=True)
class Violation:
    """One broken rule, where it is."""

    file: str  # path inside the project
    line: int
    where: str  # "function f, loop L" or "function f, array a"
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.where}: {self.problem}"


def kernel_sources(files: dict[str, bytes]) -> dict[str, str]:
    """The files synthesis compiles: src/*.cpp and src/*.h but the g++ stand-in."""
    return {name: data.decode() for name, data in sorted(files.items())
            if name.startswith("src/") and name.endswith((".h", ".cpp"))
            and name not in SIMULATION_ONLY}


def check_sources(sources: dict[str, str]) -> list[Violation]:
    """Every rule of the module docstring over `sources` (path -> C++ text)."""
    views = {f: (cscan.blank_comments(t), cscan.code_view(t)) for f, t in sources.items()}
    consts: dict[str, int] = {}
    for _, code in views.values():
        consts |= cscan.struct_constants(code)
    fns = {f: cscan.functions(code) for f, (_, code) in views.items()}
    out: list[Violation] = []
    for f, (text, code) in views.items():
        out += _forbidden(f, text, fns[f])
        for fn in fns[f]:
            ctx = _Scope(f, fn, consts)
            out += _check_loops(ctx, text, cscan.loops(text, code, fn))
        out += _check_arrays(f, text, code, fns[f], consts)
    return out + _recursion(views, fns)


@dataclass(frozen=True)
class _Scope:
    file: str
    fn: cscan.Function
    consts: dict[str, int]

    def constant(self, expr: str) -> str:
        """"" if `expr` is a compile-time constant here, else why not."""
        names = cscan.names_in(expr)
        if not expr.strip() or names is None:
            return f"`{expr.strip()}` is not a constant integer expression"
        for n in names:
            owner = n.split("::")[0] if "::" in n else None
            if n in self.consts or n in self.fn.template_values or \
                    owner in self.fn.template_types:
                continue
            if owner is not None and any(k.startswith(owner + "::") for k in self.consts):
                return f"{n} is not a static const member of {owner}"
            return f"{n} is not a compile-time constant"
        return ""

    def value(self, expr: str) -> int | None:
        return cscan.evaluate(expr, self.consts)


def _forbidden(f: str, text: str, fns: list[cscan.Function]) -> list[Violation]:
    out = []
    for pattern, what in _FORBIDDEN:
        for m in pattern.finditer(text):
            fn = next((x for x in fns if x.body[0] <= m.start() < x.body[1]), None)
            out.append(Violation(f, cscan.line_of(text, m.start()),
                                 f"function {fn.name}" if fn else "file scope",
                                 f"{what}: `{m.group(0).strip()}` cannot be synthesised"))
    return out


def _check_loops(s: _Scope, text: str, loops: list[cscan.Loop]) -> list[Violation]:
    out = []
    for lp in loops:
        where = f"function {s.fn.name}, loop {lp.name}"
        why = s.constant(lp.bound) if lp.bound else "its condition is not `var < bound`"
        if why:
            out.append(Violation(s.file, lp.line, where, f"bound not a compile-time "
                                                         f"constant: {why}"))
        if lp.exits and "LOOP_TRIPCOUNT" not in _directives(lp.pragmas):
            out.append(Violation(s.file, lp.line, where, f"exits early ({lp.exits[0]}) "
                                 f"without a LOOP_TRIPCOUNT pragma"))
        trips = s.value(lp.bound) if lp.bound else None
        if trips is not None and trips > MAX_COMPLETE and _unrolled(lp, loops, s.fn, text):
            out.append(Violation(s.file, lp.line, where, f"unrolls {trips} iterations, more "
                                 f"than {MAX_COMPLETE} (Vivado: XFORM 203-504)"))
    return out


def _directives(pragmas) -> list[str]:
    return [p.split()[0].upper() for p in pragmas if p.split()]


def _unrolled(lp: cscan.Loop, loops: list[cscan.Loop], fn: cscan.Function,
              text: str) -> bool:
    """True if HLS unrolls `lp` completely: its own `UNROLL` without a factor, or a
    PIPELINE on a loop around it or on its function (which unrolls every loop inside)."""
    if any(p.upper().split() == ["UNROLL"] for p in lp.pragmas):
        return True
    around = [o for o in loops if o.body[0] <= lp.body[0] and lp.body[1] <= o.body[1]
              and o is not lp]
    if any("PIPELINE" in _directives(o.pragmas) for o in around):
        return True
    inside_loops = [o.body for o in loops]
    own = [p for off, p in cscan.pragmas(text, fn.body)
           if not any(a <= off < z for a, z in inside_loops)]
    return "PIPELINE" in _directives(own)


def _check_arrays(f: str, text: str, code: str, fns: list[cscan.Function],
                  consts: dict[str, int]) -> list[Violation]:
    decls = cscan.arrays(code, fns)
    out = []
    for d in decls:
        where = f"function {d.function}, array {d.name}" if d.function else f"array {d.name}"
        fn = next((x for x in fns if x.name == d.function), None)
        scope = _Scope(f, fn or _FILE_SCOPE, consts)
        for i, dim in enumerate(d.dims):
            if not dim and (d.is_param and i == 0):
                continue
            why = scope.constant(dim) if dim else "no size"
            if why:
                out.append(Violation(f, d.line, where, f"not of fixed size: dim {i + 1}: {why}"))
    for fn in fns:
        for off, pragma in cscan.pragmas(text, fn.body):
            if pragma.upper().startswith("ARRAY_PARTITION"):
                out += _check_partition(f, cscan.line_of(text, off), fn, pragma, decls, consts)
    return out


_FILE_SCOPE = cscan.Function("", 0, "", (0, 0), (0, 0), (), ())


def _check_partition(f: str, line: int, fn: cscan.Function, pragma: str,
                     decls: list[cscan.ArrayDecl], consts: dict[str, int]) -> list[Violation]:
    opts = dict(re.findall(r"(\w+)\s*=\s*(\w+)", pragma))
    var = opts.get("variable", "?")
    where = f"function {fn.name}, array {var}"
    decl = next((d for d in decls if d.name == var and d.function == fn.name), None)
    if decl is None:
        return [Violation(f, line, where, "ARRAY_PARTITION of an array not declared in "
                                          "this function")]
    dim = int(opts.get("dim", 1))
    if dim > len(decl.dims):
        return [Violation(f, line, where, f"ARRAY_PARTITION dim={dim} of a "
                                          f"{len(decl.dims)}-dim array")]
    sizes = [cscan.evaluate(d, consts) for d in decl.dims]
    span = sizes[dim - 1] if dim else (None if None in sizes else _product(sizes))
    if span is None:
        return []
    if re.search(r"\bcomplete\b", pragma, re.IGNORECASE) and span > MAX_COMPLETE:
        return [Violation(f, line, where, f"complete partition into {span} elements, more "
                                          f"than {MAX_COMPLETE} (Vivado: XFORM 203-504)")]
    factor = int(opts.get("factor", 1))
    if factor > span:
        return [Violation(f, line, where, f"partition factor {factor} > the {span} "
                                          f"elements of dim {dim}")]
    return []


def _product(xs: list[int]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def _recursion(views: dict[str, tuple[str, str]],
               fns: dict[str, list[cscan.Function]]) -> list[Violation]:
    where = {fn.name: (f, fn) for f, fl in fns.items() for fn in fl}
    g = nx.DiGraph()
    for name, (f, fn) in where.items():
        body = views[f][1][fn.body[0]:fn.body[1]]
        for m in re.finditer(r"\b(\w+)\s*(?:<[^<>;{}]*>)?\s*\(", body):
            if m.group(1) in where:
                g.add_edge(name, m.group(1))
    out = []
    for cycle in sorted(sorted(c) for c in nx.simple_cycles(g)):
        f, fn = where[cycle[0]]
        out.append(Violation(f, fn.line, f"function {fn.name}", "recursion ("
                             + " -> ".join(cycle + [cycle[0]]) + ")"))
    return out


def check_context(ctx: dict) -> list[Violation]:
    """The template context's side: every generated loop bound a positive integer, every
    buffer of positive size, partitions within it and within MAX_COMPLETE."""
    out = []
    top = "src/dna_top.cpp"
    for c in ctx["chunks"]:
        for op in (o for o in c["ops"] if o["kind"] == "conv"):
            for lp in op["nest"]["loops"]:
                if not (isinstance(lp["bound"], int) and lp["bound"] >= 1):
                    out.append(Violation(top, 0, f"function {op['fn']}, loop {lp['label']}",
                                         f"bound {lp['bound']!r} is not a positive integer"))
        words = {**{b: c["gb"][t] for b, t in zip(("in_gb", "w_gb", "out_gb"), c["gb"])},
                 **{b: c["rf"][t] for b, t in zip(("in_rf", "w_rf", "o_rf"), c["rf"])}}
        for b in c["buffers"]:
            where = f"function engine_{c['id']}, array {b['name']}"
            n = words[b["name"]]
            if not (isinstance(n, int) and n >= 1):
                out.append(Violation(top, 0, where, f"size {n!r} is not a positive integer"))
            elif b["banks"] > n:
                out.append(Violation(top, 0, where, f"{b['banks']} banks > {n} words"))
            elif b["banks"] == 0 and c["pes"] > MAX_COMPLETE:
                out.append(Violation(top, 0, where, f"complete partition over {c['pes']} "
                                     f"PEs, more than {MAX_COMPLETE}"))
    return out


def check_project(files: dict[str, bytes], ctx: dict) -> None:
    """HwgenError listing every violation (one line) if the kernel in `files` (path ->
    content, as emit writes them) or its context `ctx` breaks a rule."""
    problems = check_context(ctx) + check_sources(kernel_sources(files))
    if problems:
        raise HwgenError("the generated HLS kernel is not synthesisable: "
                         + "; ".join(map(str, problems)))
