#!/usr/bin/env python3
"""Fails when a workspace crate has an import cycle between its own modules.

`cargo modules dependencies --acyclic` answers the same question, but it links rust-analyzer and
takes a long compile on a fresh 2-core CI machine; this reads the sources instead (stdlib only).

For each member of the root `Cargo.toml`, and for each of its `src/lib.rs` and `src/main.rs`:
- the module tree comes from `mod x;` (`x.rs` or `x/mod.rs`, `#[path]` honoured) and inline
  `mod x { .. }`; `#[cfg(test)]` items, modules included, are skipped;
- a module *uses* another when it names it, or an item in it, in `use crate::..`, `use super::..`,
  `use self::..`, `use child::..` (nested use-trees included) or in a path in code (`crate::a::b`,
  `super::x`, `child::f()`, or through a `use`d module's name); a path goes to the longest prefix
  that is a module, as written: a re-export is not followed, so naming `crate::http::now_ms`
  depends on `http` even if `http` only re-exports the function. A module's use of its
  ancestors' or descendants' items is an edge like any other: `calls/api.rs` using `super::Call`
  from `calls/mod.rs` is `calls::api -> calls`, and `calls` re-exporting `api::x` closes a cycle.

Every strongly connected component with more than one module is reported with its edges and the
file:line of each use; the exit status is 1 if there is any. `--self-test` runs small in-memory
fixtures first, so that a broken parser cannot make the check pass by seeing nothing.
"""

import os
import re
import sys

KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "yield",
}

IDENT_START = re.compile(r"[A-Za-z_\u0080-\uffff]")
IDENT = re.compile(r"[A-Za-z0-9_\u0080-\uffff]*")


# ---------------------------------------------------------------------------------------------
# Tokens: identifiers, `::`, single punctuation characters and string literals, each with its
# line. Comments (nested block comments too), char literals, lifetimes and numbers are dropped.


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind = kind  # "id", "punct", "str"
        self.text = text
        self.line = line

    def __repr__(self):
        return f"{self.text}@{self.line}"


def tokenize(src):
    toks = []
    i, n, line = 0, len(src), 1

    def skip_string(j, raw_hashes):
        """j points after the opening quote; returns (index after the literal, its text)."""
        nonlocal line
        start = j
        if raw_hashes is None:
            while j < n and src[j] != '"':
                if src[j] == "\\":
                    j += 1
                if j < n and src[j] == "\n":
                    line += 1
                j += 1
            return j + 1, src[start:j]
        close = '"' + "#" * raw_hashes
        end = src.find(close, j)
        if end < 0:
            end = n
        line += src.count("\n", j, end)
        return end + len(close), src[start:end]

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif src.startswith("//", i):
            end = src.find("\n", i)
            i = n if end < 0 else end
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if src[i] == "\n":
                        line += 1
                    i += 1
        elif c == '"':
            tline = line
            i, text = skip_string(i + 1, None)
            toks.append(Tok("str", text, tline))
        elif c in "brc" and re.match(r'(b|c|br|cr|r)(#*)"', src[i:i + 260] or ""):
            m = re.match(r'(b|c|br|cr|r)(#*)"', src[i:])
            raw = "r" in m.group(1)
            tline = line
            i, text = skip_string(i + m.end(), len(m.group(2)) if raw else None)
            toks.append(Tok("str", text, tline))
        elif c == "b" and src.startswith("b'", i):
            i += 2
            while i < n and src[i] != "'":
                i += 2 if src[i] == "\\" else 1
            i += 1
        elif c == "'":
            if i + 1 < n and src[i + 1] == "\\":
                i += 2
                while i < n and src[i] != "'":
                    i += 1
                i += 1
            elif i + 2 < n and src[i + 2] == "'":
                i += 3
            else:  # a lifetime or a label
                m = IDENT.match(src, i + 1)
                i = m.end()
                if i < n and src[i] == "'":  # a char literal of a multi-byte character
                    i += 1
        elif c == "r" and src.startswith("r#", i) and i + 2 < n and IDENT_START.match(src[i + 2]):
            m = IDENT.match(src, i + 2)
            toks.append(Tok("id", src[i + 2:m.end()], line))
            i = m.end()
        elif IDENT_START.match(c):
            m = IDENT.match(src, i)
            toks.append(Tok("id", src[i:m.end()], line))
            i = m.end()
        elif c.isdigit():
            m = re.compile(r"[0-9][0-9A-Za-z_]*(\.[0-9][0-9A-Za-z_]*)?").match(src, i)
            i = m.end()
        elif src.startswith("::", i):
            toks.append(Tok("punct", "::", line))
            i += 2
        else:
            toks.append(Tok("punct", c, line))
            i += 1
    return toks


def matching(toks, i):
    """Index of the bracket closing the one at `i`."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    opening, closing = toks[i].text, pairs[toks[i].text]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind != "punct":
            continue
        if toks[j].text == opening:
            depth += 1
        elif toks[j].text == closing:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def item_end(toks, i, end):
    """Index of the last token of the item starting at `i`: its `;` or its body's `}`."""
    depth = 0
    while i < end:
        t = toks[i]
        if t.kind == "punct":
            if t.text in "([":
                depth += 1
            elif t.text in ")]":
                depth -= 1
            elif t.text == "{" and depth == 0:
                return matching(toks, i)
            elif t.text == "{":
                depth += 1
            elif t.text == "}":
                depth -= 1
            elif t.text == ";" and depth == 0:
                return i
        i += 1
    return end - 1


def is_p(toks, i, text):
    return 0 <= i < len(toks) and toks[i].kind == "punct" and toks[i].text == text


def is_id(toks, i, text=None):
    return 0 <= i < len(toks) and toks[i].kind == "id" and (text is None or toks[i].text == text)


# ---------------------------------------------------------------------------------------------
# Modules


class Module:
    def __init__(self, path, file, child_dir, parent):
        self.path = path  # ("calls", "api"); () is the crate root
        self.file = file
        self.child_dir = child_dir
        self.parent = parent
        self.children = {}
        self.uses = []  # (segments, line, from_use_statement, alias)

    @property
    def name(self):
        return "::".join(self.path) if self.path else "crate"


def parse_use_tree(toks, i, prefix, out, line):
    """Parses a use-tree at `i`; appends (segments, alias, line) to `out`; returns the index
    after it."""
    segs = list(prefix)
    if is_p(toks, i, "::"):  # `use ::std::..`: another crate
        segs.append("::")
        i += 1
    while True:
        if is_p(toks, i, "{"):
            close = matching(toks, i)
            j = i + 1
            while j < close:
                j = parse_use_tree(toks, j, segs, out, toks[j].line)
                if is_p(toks, j, ","):
                    j += 1
            return close + 1
        if is_p(toks, i, "*"):
            out.append((segs, None, line))
            return i + 1
        if is_id(toks, i):
            segs = segs + [toks[i].text]
            i += 1
            if is_p(toks, i, "::"):
                i += 1
                continue
            alias = segs[-1]
            if is_id(toks, i, "as") and is_id(toks, i + 1):
                alias = toks[i + 1].text
                i += 2
            if segs[-1] == "self":
                segs = segs[:-1]
                if alias == "self":
                    alias = segs[-1] if segs else None
            out.append((segs, alias, line))
            return i
        return i + 1  # something unexpected: step over it


class Crate:
    def __init__(self, name, read):
        self.name = name
        self.read = read  # path -> text or None
        self.modules = {}
        self.warnings = []

    def load(self, root_file):
        root = Module((), root_file, os.path.dirname(root_file), None)
        self.modules[()] = root
        self._load_file(root)
        return self

    def _load_file(self, module):
        src = self.read(module.file)
        if src is None:
            self.warnings.append(f"{module.file}: not found (module {module.name})")
            return
        toks = tokenize(src)
        self._parse_body(module, toks, 0, len(toks))

    def _add_child(self, parent, name, file, child_dir):
        child = Module(parent.path + (name,), file, child_dir, parent)
        parent.children[name] = child
        self.modules[child.path] = child
        return child

    def _parse_body(self, module, toks, start, end):
        i = start
        skip_next_item = False
        path_attr = None
        while i < end:
            t = toks[i]
            # Attributes: `#[cfg(test)]` hides the next item, `#[path = ".."]` moves a module.
            if is_p(toks, i, "#") and is_p(toks, i + 1, "["):
                close = matching(toks, i + 1)
                inner = [x.text for x in toks[i + 2:close]]
                if inner == ["cfg", "(", "test", ")"]:
                    skip_next_item = True
                    i = close + 1
                elif inner[:2] == ["path", "="] and len(inner) == 3:
                    path_attr = toks[i + 4].text
                    i = close + 1
                else:  # paths in other attributes count: `#[utoipa::path(body = crate::a::B)]`
                    i += 2
                continue
            if is_p(toks, i, "#") and is_p(toks, i + 1, "!") and is_p(toks, i + 2, "["):
                i = matching(toks, i + 2) + 1
                continue
            if skip_next_item:
                skip_next_item = False
                path_attr = None
                i = item_end(toks, i, end) + 1
                continue
            if is_id(toks, i, "pub") and is_p(toks, i + 1, "("):
                i = matching(toks, i + 1) + 1  # `pub(in crate::a)` names no dependency
                continue
            if is_id(toks, i, "mod") and is_id(toks, i + 1) and (
                is_p(toks, i + 2, ";") or is_p(toks, i + 2, "{")
            ):
                name = toks[i + 1].text
                if is_p(toks, i + 2, ";"):
                    self._file_module(module, name, path_attr, toks[i].line)
                    i += 3
                else:
                    close = matching(toks, i + 2)
                    child = self._add_child(
                        module, name, module.file, os.path.join(module.child_dir, name)
                    )
                    self._parse_body(child, toks, i + 3, close)
                    i = close + 1
                path_attr = None
                continue
            path_attr = None
            if is_id(toks, i, "use") and not is_p(toks, i + 1, "<"):
                semi = item_end(toks, i, end)
                out = []
                j = i + 1
                while j < semi:
                    j = parse_use_tree(toks, j, [], out, toks[j].line)
                for segs, alias, line in out:
                    module.uses.append((segs, line, True, alias))
                i = semi + 1
                continue
            # A path in code: `crate::..`, `super::..`, `self::..` or `name::..`.
            if (
                t.kind == "id"
                and is_p(toks, i + 1, "::")
                and is_id(toks, i + 2)
                and not is_p(toks, i - 1, "::")
                and not is_p(toks, i - 1, ".")
                and not is_p(toks, i - 1, "$")
                and (t.text in ("crate", "super", "self") or t.text not in KEYWORDS)
            ):
                segs = [t.text]
                j = i + 1
                while is_p(toks, j, "::") and is_id(toks, j + 1):
                    segs.append(toks[j + 1].text)
                    j += 2
                module.uses.append((segs, t.line, False, None))
                i = j
                continue
            i += 1

    def _file_module(self, parent, name, path_attr, line):
        if path_attr is not None:
            file = os.path.normpath(os.path.join(os.path.dirname(parent.file), path_attr))
            child_dir = os.path.dirname(file)
        else:
            file = os.path.join(parent.child_dir, name + ".rs")
            child_dir = os.path.join(parent.child_dir, name)
            if self.read(file) is None and self.read(os.path.join(child_dir, "mod.rs")) is not None:
                file = os.path.join(child_dir, "mod.rs")
        child = self._add_child(parent, name, file, child_dir)
        self._load_file(child)

    # -- edges -----------------------------------------------------------------------------

    def _resolve(self, module, segs, aliases):
        """The module a path names: its longest prefix that is a module of this crate, or None
        when the path leads out of the crate. A re-export is not followed: naming
        `crate::http::now_ms` depends on `http` even when `http` only re-exports it."""
        if not segs or segs[0] == "::":
            return None
        first = segs[0]
        if first == "crate":
            cur, rest = self.modules[()], segs[1:]
        elif first in ("self", "super"):
            cur, rest = module, list(segs)
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    if cur.parent is None:
                        return None
                    cur = cur.parent
                rest = rest[1:]
        elif first in module.children:
            cur, rest = module.children[first], segs[1:]
        elif first in aliases:
            cur, rest = aliases[first], segs[1:]
        else:
            return None
        while rest and rest[0] in cur.children:
            cur, rest = cur.children[rest[0]], rest[1:]
        return cur, rest

    def edges(self):
        """{(from, to): [(file, line), ..]} between distinct modules."""
        result = {}
        for m in self.modules.values():
            aliases = {}  # `use crate::b;` lets code say `b::g()`
            for segs, _line, from_use, alias in m.uses:
                if from_use and alias:
                    found = self._resolve(m, segs, {})
                    if found is not None and not found[1]:
                        aliases[alias] = found[0]
            for segs, line, _from_use, _alias in m.uses:
                found = self._resolve(m, segs, aliases)
                if found is None or found[0] is m:
                    continue
                sites = result.setdefault((m.name, found[0].name), [])
                if (m.file, line) not in sites:
                    sites.append((m.file, line))
        return result


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iterative; returns components with more than one node."""
    succ = {n: sorted({b for (a, b) in edges if a == n}) for n in nodes}
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, pi = work.pop()
            if pi == 0:
                index[v] = low[v] = counter[0]
                counter[0] += 1
                stack.append(v)
                on_stack.add(v)
            recurse = False
            for k in range(pi, len(succ[v])):
                w = succ[v][k]
                if w not in index:
                    work.append((v, k + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return comps


def check_crate(name, root_file, read):
    """Returns (report lines, cycles found, crate)."""
    crate = Crate(name, read).load(root_file)
    edges = crate.edges()
    nodes = {m.name for m in crate.modules.values()}
    comps = strongly_connected(nodes, edges)
    lines = [f"{name}: {len(nodes)} modules, {len(edges)} edges between them, "
             + (f"{len(comps)} cycle(s)" if comps else "no cycle")]
    lines += [f"  warning: {w}" for w in crate.warnings]
    for comp in comps:
        members = set(comp)
        lines.append(f"  cycle through {len(comp)} modules: {', '.join(comp)}")
        for (a, b), sites in sorted(edges.items()):
            if a in members and b in members:
                where = ", ".join(f"{f}:{l}" for f, l in sites)
                lines.append(f"    {a} -> {b}   ({where})")
    return lines, comps, crate


def workspace_roots(root):
    with open(os.path.join(root, "Cargo.toml"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^\[workspace\][^\[]*?^members\s*=\s*\[(.*?)\]", text, re.S | re.M)
    if not m:
        sys.exit("module-cycles: no [workspace] members in Cargo.toml")
    members = re.findall(r'"([^"]+)"', m.group(1))
    roots = []
    for member in members:
        for kind in ("lib", "main"):
            path = os.path.join(member, "src", kind + ".rs")
            if os.path.isfile(os.path.join(root, path)):
                roots.append((f"{member} ({kind})", path))
    return roots


def disk_reader(root):
    def read(path):
        try:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
    return read


# ---------------------------------------------------------------------------------------------
# Self-test: small crates in memory, each with the cycles it must (or must not) report.

FIXTURES = [
    (
        "a plain cycle between two files",
        {
            "src/lib.rs": "pub mod a;\npub mod b;\n",
            "src/a.rs": "use crate::b::B;\npub struct A;\n",
            "src/b.rs": "use crate::a::A;\npub struct B;\n",
        },
        [["a", "b"]],
    ),
    (
        "no cycle: one-way uses, comments and strings ignored, #[cfg(test)] skipped",
        {
            "src/lib.rs": "pub mod a;\npub mod b;\npub mod c;\npub use a::A;\n",
            "src/a.rs": "// use crate::b::B;\n/* crate::c::x() /* nested */ */\npub struct A;\n"
                        'const S: &str = "crate::b::B";\nconst R: &str = r#"super::b"#;\n'
                        "#[cfg(test)]\nmod tests { use crate::b::B; }\n"
                        "#[cfg(test)]\nfn helper() { crate::c::f(); }\n",
            "src/b.rs": "use crate::a::A;\npub struct B(A);\n",
            "src/c.rs": "pub fn f() { crate::b::B(crate::a::A); let _c = 'c'; }\n"
                        "fn g<'a>(x: &'a str) -> &'a str { x }\n",
        },
        [],
    ),
    (
        "a nested use-tree closes a cycle through three modules",
        {
            "src/lib.rs": "mod x;\nmod y;\nmod z;\n",
            "src/x.rs": "use crate::{y::{self, Y}, z as zz};\n",
            "src/y.rs": "use crate::z::{Z, other::{A, B}};\n",
            "src/z.rs": "pub mod other;\npub(in crate::x) struct Z;\n#[doc(alias = \"x\")]\n"
                        "#[utoipa::path(get, body = crate::x::X)]\nfn f() {}\n",
            "src/z/other.rs": "pub struct A;\npub struct B;\n",
        },
        [["x", "y", "z"]],
    ),
    (
        "a child's super:: path in code against the parent's use of the child",
        {
            "src/main.rs": "mod calls;\nfn main() {}\n",
            "src/calls/mod.rs": "mod api;\npub struct Call;\npub fn routes() { api::list(); }\n",
            "src/calls/api.rs": "pub fn list() -> Vec<super::Call> { Vec::new() }\n",
        },
        [["calls", "calls::api"]],
    ),
    (
        "the child uses the parent, the parent only declares it: no cycle; inline modules",
        {
            "src/lib.rs": "pub mod calls;\nmod inline { pub fn f() { super::calls::Call; } }\n",
            "src/calls/mod.rs": "mod api;\npub struct Call;\n",
            "src/calls/api.rs": "use super::Call;\nuse server_kit::store;\nfn f(_: Call) {}\n",
        },
        [],
    ),
    (
        "a use'd module name in code, and an inline module's cycle with its parent",
        {
            "src/lib.rs": "mod a;\nmod b;\n",
            "src/a.rs": "use crate::b;\nfn f() { b::g(); }\nmod inner { pub fn h() { super::f(); } }\n"
                        "fn k() { inner::h(); }\n",
            "src/b.rs": "pub fn g() {}\n",
        },
        [["a", "a::inner"]],
    ),
    (
        "a re-export is not followed: naming the root's re-export depends on the root",
        {
            "src/lib.rs": "pub mod a;\npub use other_crate::store;\npub fn top() { a::f(); }\n",
            "src/a.rs": "use crate::store::Store;\npub fn f() {}\n",
        },
        [["a", "crate"]],
    ),
]


def self_test():
    failures = 0
    for title, files, expected in FIXTURES:
        root_file = "src/lib.rs" if "src/lib.rs" in files else "src/main.rs"
        lines, comps, _ = check_crate("fixture", root_file, files.get)
        if sorted(comps) != sorted(expected):
            failures += 1
            print(f"self-test FAILED: {title}: expected {expected}, found {comps}")
            print("\n".join(lines))
    if failures:
        print(f"self-test: {failures} of {len(FIXTURES)} fixtures failed")
        return False
    print(f"self-test: {len(FIXTURES)} fixtures passed")
    return True


def main(argv):
    if "--self-test" in argv:
        return 0 if self_test() else 1
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    read = disk_reader(root)
    cycles = 0
    for name, root_file in workspace_roots(root):
        lines, comps, crate = check_crate(name, root_file, read)
        if len(crate.modules) == 1 and not crate.modules[()].uses and crate.warnings:
            print(f"{name}: could not read {root_file}")
            return 1
        cycles += len(comps)
        print("\n".join(lines))
    if cycles:
        print(f"\n{cycles} import cycle(s) inside crates; break each by moving the shared part "
              "into its own module so that uses go one way")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
