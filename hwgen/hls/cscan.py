"""A lexical reader of the generated HLS C++: enough structure for the synthesisability
rules of hwgen.hls.synthcheck, not a C++ parser.

It knows the shapes the HLS templates write: functions at file scope (templates
included), `struct` blocks of `static const` integers, labelled `for` loops with their
`DNA_PRAGMA(HLS ...)` (or `#pragma HLS ...`) lines, and array declarations. Comments and
string literals are blanked first, keeping offsets and line numbers.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_]\w*")
_NON_TYPE = re.compile(r"\b(?:int|long|unsigned|short|bool|char|size_t)\s+(\w+)\s*$")
_PRAGMA = re.compile(r"DNA_PRAGMA\(\s*HLS\s+([^)]*)\)|#\s*pragma\s+HLS\s+([^\n]*)", re.IGNORECASE)
_LABEL = re.compile(r"(?<![:\w])(\w+)\s*:\s*$")
_LOOP_VAR = re.compile(r"(?:^|\s)(\w+)\s*=")
_ARRAY_DECL = re.compile(r"(?<![\w:.>\]\)])([A-Za-z_][\w:]*(?:<[^<>;(){}]*>)?)\s*[*&]?\s+"
                         r"([A-Za-z_]\w*)\s*((?:\[[^\]\[]*\])+)")
_NOT_TYPES = {"return", "else", "case", "delete", "new", "throw", "goto", "do", "sizeof"}
_STRUCT_CONST = re.compile(r"static\s+const\s+(?:unsigned\s+)?(?:int|long|bool|short)\s+"
                           r"([^;{}()]+);")
_CONST_TOKEN = re.compile(r"\s*(?:(\d+)[uUlL]*|([A-Za-z_]\w*(?:::[A-Za-z_]\w*)?)|"
                          r"(<<|>>|[-+*/%()]))")


@dataclass(frozen=True)
class Function:
    """A function defined at file scope."""

    name: str
    line: int
    params: str  # the parameter list, between the parentheses
    params_at: tuple[int, int]  # its offsets
    body: tuple[int, int]  # offsets of the body, braces excluded
    template_types: tuple[str, ...]  # `class L` / `typename T` parameters
    template_values: tuple[str, ...]  # non-type parameters (`long SIZE`)


@dataclass(frozen=True)
class Loop:
    """A `for` loop inside `function`."""

    function: str
    label: str  # the loop's label, or "" if it has none
    line: int
    var: str  # the induction variable ("" if the header has no `var =`)
    bound: str  # the right side of `var < bound` ("" if the condition is not of that form)
    body: tuple[int, int]  # offsets of the body
    pragmas: tuple[str, ...]  # its own HLS pragmas (not those of loops inside it)
    exits: tuple[str, ...]  # break / return / goto in its body

    @property
    def name(self) -> str:
        return self.label or f"at line {self.line}"


@dataclass(frozen=True)
class ArrayDecl:
    """An array declaration: `type name[d0][d1]...`."""

    function: str  # "" at file scope
    name: str
    line: int
    dims: tuple[str, ...]  # the dimension expressions ("" for `name[]`)
    is_param: bool


def blank_comments(text: str) -> str:
    """`text` with comments and the insides of string and character literals replaced by
    spaces (newlines kept, so offsets and line numbers stay)."""
    out, i, n = list(text), 0, len(text)
    while i < n:
        two = text[i:i + 2]
        if two in ("//", "/*"):
            end = text.find("\n" if two == "//" else "*/", i + 2)
            end = n if end < 0 else end + (0 if two == "//" else 2)
            first, after = i, end
        elif text[i] in "\"'":
            end = i + 1
            while end < n and text[end] != text[i] and text[end] != "\n":
                end += 2 if text[end] == "\\" else 1
            first, end = i + 1, min(end, n)  # keep the quotes
            after = end + 1
        else:
            i += 1
            continue
        for j in range(first, end):
            out[j] = out[j] if text[j] == "\n" else " "
        i = after
    return "".join(out)


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def matching(text: str, start: int, open_ch: str, close_ch: str) -> int:
    """Offset of the bracket closing the one at `start` (len(text) if unbalanced)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_ch:
            depth += 1
        elif text[i] == close_ch:
            depth -= 1
            if depth == 0:
                return i
    return len(text)


def code_view(text: str) -> str:
    """Comments, literals and preprocessor lines blanked: what the braces are counted on."""
    code = blank_comments(text)
    return re.sub(r"(?m)^[ \t]*#(?:[^\n]*\\\n)*[^\n]*",
                  lambda m: re.sub(r"[^\n]", " ", m.group(0)), code)


def functions(code: str) -> list[Function]:
    """The functions defined at file scope of `code` (a code_view)."""
    out, start, i = [], 0, 0
    while i < len(code):
        ch = code[i]
        if ch in ";}":
            start = i + 1
        elif ch == "{":
            end = matching(code, i, "{", "}")
            fn = _function(code, start, i, end)
            if fn is not None:
                out.append(fn)
            i, start = end, end + 1
        i += 1
    return out


def _function(code: str, start: int, brace: int, end: int) -> Function | None:
    header = code[start:brace].strip()
    types: list[str] = []
    values: list[str] = []
    if m := re.match(r"template\s*<(.*?)>\s*", header, re.DOTALL):
        for part in m.group(1).split(","):
            if t := re.match(r"\s*(?:class|typename)\s+(\w+)", part):
                types.append(t.group(1))
            elif v := _NON_TYPE.search(part.strip()):
                values.append(v.group(1))
        header = header[m.end():]
    header = re.sub(r"\s*const\s*$", "", header)
    if not header.endswith(")") or re.match(r"(struct|class|union|namespace|enum)\b", header):
        return None
    close = start + code[start:brace].rindex(")")
    depth, j = 0, close
    while j > start:
        depth += {")": 1, "(": -1}.get(code[j], 0)
        if depth == 0:
            break
        j -= 1
    name = re.search(r"(\w+)\s*$", code[start:j])
    if name is None:
        return None
    return Function(name.group(1), line_of(code, start + name.start()), code[j + 1:close],
                    (j + 1, close), (brace + 1, end), tuple(types), tuple(values))


def pragmas(text: str, span: tuple[int, int]) -> list[tuple[int, str]]:
    """(offset, text) of the HLS pragmas in text[span], upper-cased directive first."""
    return [(m.start(), (m.group(1) or m.group(2)).strip())
            for m in _PRAGMA.finditer(text, *span)]


def loops(text: str, code: str, fn: Function) -> list[Loop]:
    """The `for` loops of `fn`; `text` is the source with pragmas (blank_comments),
    `code` its code_view."""
    found = []
    for m in re.finditer(r"\bfor\s*\(", code[:fn.body[1]]):
        if m.start() < fn.body[0]:
            continue
        close = matching(code, m.end() - 1, "(", ")")
        parts = code[m.end():close].split(";")
        b = close + 1
        while b < len(code) and code[b].isspace():
            b += 1
        body = (b + 1, matching(code, b, "{", "}")) if code[b:b + 1] == "{" else \
            (b, code.find(";", b) + 1)
        label = _LABEL.search(code[fn.body[0]:m.start()])
        var = _LOOP_VAR.search(parts[0]) if len(parts) == 3 else None
        found.append((m.start(), label.group(1) if label else "", var.group(1) if var else "",
                      _bound(parts[1], var.group(1)) if var else "", body))
    spans = [f[4] for f in found]
    out = []
    for start, label, var, bound, body in found:
        inner = [s for s in spans if body[0] <= s[0] and s[1] <= body[1] and s != body]
        own = [p for off, p in pragmas(text, body) if not any(a <= off < z for a, z in inner)]
        exits = [w for w in re.findall(r"\b(break|return|goto)\b", code[body[0]:body[1]])]
        out.append(Loop(fn.name, label, line_of(code, start), var, bound, body, tuple(own),
                        tuple(exits)))
    return out


def _bound(cond: str, var: str) -> str:
    if m := re.fullmatch(rf"\s*{var}\s*(?:<=?|!=)\s*(.+?)\s*", cond, re.DOTALL):
        return m.group(1)
    if m := re.fullmatch(rf"\s*(.+?)\s*>=?\s*{var}\s*", cond, re.DOTALL):
        return m.group(1)
    return ""


def arrays(code: str, fns: list[Function]) -> list[ArrayDecl]:
    """Array declarations at file scope, in function bodies and in parameter lists."""
    out = []
    for m in _ARRAY_DECL.finditer(code):
        if m.group(1) in _NOT_TYPES or m.group(2) in _NOT_TYPES or \
                any(f.params_at[0] <= m.start() < f.params_at[1] for f in fns):
            continue
        fn = next((f for f in fns if f.body[0] <= m.start() < f.body[1]), None)
        dims = tuple(d.strip() for d in re.findall(r"\[([^\]\[]*)\]", m.group(3)))
        out.append(ArrayDecl(fn.name if fn else "", m.group(2), line_of(code, m.start()),
                             dims, False))
    for fn in fns:
        for m in _ARRAY_DECL.finditer(fn.params):
            dims = tuple(d.strip() for d in re.findall(r"\[([^\]\[]*)\]", m.group(3)))
            out.append(ArrayDecl(fn.name, m.group(2), fn.line, dims, True))
    return out


def struct_constants(code: str) -> dict[str, int]:
    """`Struct::NAME` -> value of every `static const` integer inside a `struct` block."""
    out = {}
    for m in re.finditer(r"\bstruct\s+(\w+)\s*\{", code):
        body = code[m.end():matching(code, m.end() - 1, "{", "}")]
        for decl in _STRUCT_CONST.finditer(body):
            for item in decl.group(1).split(","):
                name, _, value = (s.strip() for s in item.partition("="))
                value = {"true": "1", "false": "0"}.get(value, value.rstrip("uUlL"))
                if re.fullmatch(r"-?\d+", value):
                    out[f"{m.group(1)}::{name}"] = int(value)
    return out


def names_in(expr: str) -> list[str] | None:
    """Identifiers (qualified or not) of an integer expression; None if it holds anything
    but integer literals, names and + - * / % << >> ( )."""
    names, i = [], 0
    expr = expr.strip()
    while i < len(expr):
        m = _CONST_TOKEN.match(expr, i)
        if m is None or m.end() == i:
            return None
        if m.group(2):
            names.append(m.group(2))
        i = m.end()
    return names


def evaluate(expr: str, values: dict[str, int]) -> int | None:
    """The value of an integer expression whose names are all in `values`, else None."""
    names = names_in(expr)
    if names is None or any(n not in values for n in names):
        return None
    py = re.sub(r"(\d+)[uUlL]+", r"\1", expr).replace("/", "//")
    for n in sorted(set(names), key=len, reverse=True):
        py = re.sub(rf"(?<![\w:]){re.escape(n)}(?![\w:])", str(values[n]), py)
    tree = ast.parse(py, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator,
               ast.unaryop)
    if not all(isinstance(node, allowed) for node in ast.walk(tree)):
        return None
    return int(eval(compile(tree, "<expr>", "eval")))  # integer arithmetic only (checked above)
