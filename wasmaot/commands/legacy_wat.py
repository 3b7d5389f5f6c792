"""Spec scripts written in legacy exception handling's text syntax.

The legacy encoding of exception handling (`try`/`catch`/`catch_all`/
`delegate`/`rethrow`) is still emitted by older toolchains, and wasmaot decodes
and validates its binary opcodes.  Its *text* syntax, though, is gone from
wasm-tools, our text front end (driver/wat.py): `json-from-wast` rejects the
testsuite's legacy/*.wast with "unknown operator or unexpected token".  wabt
still parses it, and wabt.js (wabt compiled to WebAssembly, npm package `wabt`)
runs under node, so a legacy script is converted in three steps:

1. `scan_modules` finds the script's module forms -- top level, or the module of
   a command such as `(assert_invalid (module ...) "...")` -- with a scanner
   that knows strings and both comment styles;
2. wabt.js parses each form's text (exceptions and tail calls enabled) and
   encodes it, never validating: whether a module is valid is wasmaot's verdict;
3. `rewrite_script` replaces each form by `(module $name binary "...")`, padded
   with the newlines it replaces, so every later command keeps its line.

The rewritten script then goes to `json-from-wast` like any other, which does
everything else (commands, values, NaN patterns).

Quoted modules `(module quote "...")` are parsed by wabt too: one it accepts is
rewritten to binary like any other; one it rejects can only be an
`assert_malformed` test of the text parser (anywhere else the script cannot be
converted), so it is left quoted, and `wabt_text_to_wasm` is the text front end
that must reject it when the script runs -- wasm-tools would reject any legacy
text, right or wrong, and so would prove nothing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import MalformedModule, ToolchainError, WasmError

WABT_VERSION = "1.0.39"

# Instructions that only the legacy syntax has (`try_table` is a different token).
LEGACY_KEYWORDS = frozenset({"try", "delegate", "rethrow"})

# wabt's feature names; exceptions for the syntax itself, tail calls because the
# legacy files return_call inside `try`.  Nothing else: wabt's defaults cover
# the rest of what the files use.
WABT_FEATURES = {"exceptions": True, "tail_call": True}

# Generous: a whole script takes ~0.1 s; this only stops a wedged node.
WABT_TIMEOUT_SECONDS = 120


class LegacyTextUnavailable(ToolchainError):
    """node or wabt.js is not installed, so legacy text cannot be read."""


# --- scanning -------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "string", "atom"
    start: int
    end: int


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def tokens(text: str) -> list[Token]:
    """The script's parens, strings and atoms; whitespace and comments dropped."""
    found: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif text.startswith(";;", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("(;", i):
            i = _block_comment_end(text, i)
        elif c in "()":
            found.append(Token(c, i, i + 1))
            i += 1
        elif c == '"':
            end = _string_end(text, i)
            found.append(Token("string", i, end))
            i = end
        else:
            start = i
            while i < n and text[i] not in ' \t\r\n()";':
                i += 1
            if i == start:  # a lone `;` that starts no comment
                i += 1
            found.append(Token("atom", start, i))
    return found


def _block_comment_end(text: str, start: int) -> int:
    """Offset past the `;)` that closes the (nestable) block comment at `start`."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("(;", i):
            depth, i = depth + 1, i + 2
        elif text.startswith(";)", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    raise MalformedModule(f"unterminated block comment (line {_line_of(text, start)})")


def _string_end(text: str, start: int) -> int:
    """Offset past the closing quote of the string at `start`."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text[i] == "\n":
            break
        else:
            i += 1
    raise MalformedModule(f"unterminated string (line {_line_of(text, start)})")


_SIMPLE_ESCAPES = {"t": b"\t", "n": b"\n", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}


def string_bytes(literal: str) -> bytes:
    """The bytes a string literal (with its quotes) denotes, per the text format's
    escapes: \\t \\n \\r \\" \\' \\\\, \\hh and \\u{hex}."""
    body, out, i = literal[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        if nxt in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[nxt]
            i += 2
        elif nxt == "u" and body[i + 2:i + 3] == "{" and "}" in body[i + 3:]:
            close = body.index("}", i + 3)
            out += _code_point(body[i + 3:close]).encode("utf-8")
            i = close + 1
        elif re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 1:i + 3]):
            out.append(int(body[i + 1:i + 3], 16))
            i += 3
        else:
            raise MalformedModule(f"unknown escape in string {literal[:40]!r}")
    return bytes(out)


def _code_point(digits: str) -> str:
    value = int(digits.replace("_", ""), 16) if re.fullmatch(r"[0-9a-fA-F_]+", digits) else -1
    if not 0 <= value <= 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        raise MalformedModule(f"bad unicode escape \\u{{{digits}}}")
    return chr(value)


@dataclass(frozen=True)
class ModuleForm:
    """One `(module ...)` of a script.  `kind` is "text", "quote", "binary" or
    "instance" (a `(module instance ...)` names an instance, it has no body)."""

    start: int  # offset of its `(`
    end: int  # offset past its `)`
    line: int
    name: str | None  # its `$id`
    definition: bool  # `(module definition ...)`
    kind: str
    body: int  # index into the tokens of the first token after the header
    command: str | None  # the command it is the module of, None at top level


def _matching(toks: list[Token], open_index: int, text: str) -> int:
    """Index of the `)` that closes the `(` at `open_index`."""
    depth = 0
    for i in range(open_index, len(toks)):
        if toks[i].kind == "(":
            depth += 1
        elif toks[i].kind == ")":
            depth -= 1
            if depth == 0:
                return i
    raise MalformedModule(f"unclosed parenthesis (line {_line_of(text, toks[open_index].start)})")


def _keyword(toks: list[Token], i: int, text: str) -> str | None:
    t = toks[i] if i < len(toks) else None
    return text[t.start:t.end] if t is not None and t.kind == "atom" else None


def scan_modules(text: str, toks: list[Token] | None = None) -> list[ModuleForm]:
    """Every module form of the script: top-level ones, and those that are a
    direct part of a top-level command (`assert_invalid`, `assert_malformed`,
    `assert_unlinkable`, ...).  Modules occur nowhere else in a script."""
    toks = tokens(text) if toks is None else toks
    forms: list[ModuleForm] = []
    i = 0
    while i < len(toks):
        if toks[i].kind != "(":
            raise MalformedModule(f"unexpected token outside a command (line {_line_of(text, toks[i].start)})")
        close = _matching(toks, i, text)
        command = _keyword(toks, i + 1, text)
        if command == "module":
            forms.append(_module_form(toks, i, close, None, text))
        else:
            j = i + 1
            while j < close:
                if toks[j].kind != "(":
                    j += 1
                    continue
                inner = _matching(toks, j, text)
                if _keyword(toks, j + 1, text) == "module":
                    forms.append(_module_form(toks, j, inner, command, text))
                j = inner + 1
        i = close + 1
    return forms


def _module_form(toks: list[Token], open_index: int, close: int, command: str | None,
                 text: str) -> ModuleForm:
    i = open_index + 2  # past `(` `module`
    definition = _keyword(toks, i, text) == "definition"
    i += definition
    name = None
    word = _keyword(toks, i, text)
    if word is not None and word.startswith("$"):
        name, i = word, i + 1
    word = _keyword(toks, i, text)
    kind = word if word in ("binary", "quote", "instance") else "text"
    return ModuleForm(toks[open_index].start, toks[close].end, _line_of(text, toks[open_index].start),
                      name, definition, kind, i + (kind != "text"), command)


def has_legacy_syntax(text: str) -> bool:
    """Whether the script uses legacy exception handling's instructions outside
    strings and comments."""
    return any(t.kind == "atom" and text[t.start:t.end] in LEGACY_KEYWORDS for t in tokens(text))


# --- wabt.js ----------------------------------------------------------------------


# The node side: parse each text (a base64 list on stdin) with wabt.js and write
# back, per text, its binary or wabt's error; no validation.
_DRIVER = r"""
const wabtFactory = require(process.argv[1]);
const features = JSON.parse(process.argv[2]);
const chunks = [];
process.stdin.on("data", c => chunks.push(c));
process.stdin.on("end", async () => {
  const wabt = await wabtFactory();
  const texts = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const out = texts.map(b64 => {
    let module = null;
    try {
      module = wabt.parseWat("module.wat", new Uint8Array(Buffer.from(b64, "base64")), features);
      module.resolveNames();
      const bytes = module.toBinary({}).buffer;
      return {wasm: Buffer.from(bytes).toString("base64")};
    } catch (e) {
      return {error: String(e && e.message !== undefined ? e.message : e)};
    } finally {
      if (module) module.destroy();
    }
  });
  process.stdout.write(JSON.stringify(out));
});
"""


@dataclass(frozen=True)
class Wabt:
    """node and the wabt.js package directory it loads."""

    node: str
    package: Path

    @classmethod
    def find(cls) -> Wabt:
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            raise LegacyTextUnavailable(f"node not found on PATH; {_INSTALL_HINT}")
        for prefix in wabt_prefixes():
            package = prefix / "node_modules" / "wabt"
            if _package_version(package) == WABT_VERSION:
                return cls(node, package)
        where = ", ".join(str(p) for p in wabt_prefixes())
        raise LegacyTextUnavailable(f"wabt.js {WABT_VERSION} not found (looked in {where}); {_INSTALL_HINT}")

    def to_binary(self, texts: list[bytes]) -> list[bytes | str]:
        """Each text's binary, or wabt's one-line error for it."""
        if not texts:
            return []
        payload = json.dumps([base64.b64encode(t).decode("ascii") for t in texts]).encode()
        try:
            proc = subprocess.run([self.node, "-e", _DRIVER, str(self.package), json.dumps(WABT_FEATURES)],
                                  input=payload, capture_output=True, timeout=WABT_TIMEOUT_SECONDS,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"wabt.js did not finish within {WABT_TIMEOUT_SECONDS} s") from None
        except OSError as err:
            raise ToolchainError(f"cannot run node: {err.strerror or err}") from None
        try:
            results = json.loads(proc.stdout) if proc.returncode == 0 else None
        except ValueError:
            results = None
        if not isinstance(results, list) or len(results) != len(texts):
            first = next((ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines()
                          if ln.strip()), f"exit status {proc.returncode}")
            raise ToolchainError(f"wabt.js failed: {first}")
        return [base64.b64decode(r["wasm"]) if "wasm" in r else wabt_error_line(r["error"]) for r in results]


_INSTALL_HINT = (f"legacy exception-handling text needs node and wabt.js {WABT_VERSION} "
                 f"(apt-get install nodejs npm; then `make wabt`, or "
                 f"npm install --prefix ~/.cache/wasmaot/wabt-{WABT_VERSION} wabt@{WABT_VERSION})")


def wabt_prefixes() -> list[Path]:
    """Where wabt.js may be installed (`npm install --prefix P`), in order:
    $WASMAOT_WABT_PREFIX, this environment (`make wabt` installs into .venv),
    the user's cache."""
    found = []
    if os.environ.get("WASMAOT_WABT_PREFIX"):
        found.append(Path(os.environ["WASMAOT_WABT_PREFIX"]))
    found.append(Path(sys.prefix) / "share" / "wasmaot" / f"wabt-{WABT_VERSION}")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found.append(cache / "wasmaot" / f"wabt-{WABT_VERSION}")
    return found


def _package_version(package: Path) -> str | None:
    try:
        return json.loads((package / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None


_WABT_DIAGNOSTIC = re.compile(r"^[^:\n]*:(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.*)$", re.MULTILINE)


def wabt_error_line(message: str) -> str:
    """wabt's first diagnostic as `message (line L, column C)`."""
    match = _WABT_DIAGNOSTIC.search(message)
    if match is None:
        return next((ln.strip() for ln in message.splitlines() if ln.strip()), "wabt failed")
    return f"{match['msg'].strip()} (line {match['line']}, column {match['col']})"


# --- rewriting ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rewritten:
    text: str  # the script with every module it could encode in binary form
    modules: int  # how many forms were rewritten
    rejected: tuple[tuple[int, str], ...]  # (line, wabt's error) of malformed quoted modules left as is


def wabt_input(text: str, toks: list[Token], form: ModuleForm) -> bytes:
    """What wabt parses for a form.  A text form keeps its position in the
    script (earlier text blanked out), so wabt's line and column are the
    script's; `definition` is blanked, as wabt does not know it.  A quoted form
    is its strings' bytes, joined by spaces as json-from-wast does."""
    if form.kind == "quote":
        strings = []
        for t in toks[form.body:]:
            if t.start >= form.end:
                break
            if t.kind == "string":
                strings.append(string_bytes(text[t.start:t.end]))
        return b" ".join(strings)
    line_start = text.rfind("\n", 0, form.start) + 1
    prefix = "\n" * (form.line - 1) + " " * (form.start - line_start)
    source = text[form.start:form.end]
    if form.definition:
        source = re.sub(r"^\(\s*module\s+definition", lambda m: m[0][:-10] + " " * 10, source)
    return (prefix + source).encode("utf-8")


def binary_form(form: ModuleForm, wasm: bytes, original: str) -> str:
    """`(module [definition] [$id] binary "...")` with as many newlines as the
    original form, so the lines after it do not move."""
    header = "(module" + (" definition" if form.definition else "") + (f" {form.name}" if form.name else "")
    chunks = [wasm[i:i + 32] for i in range(0, len(wasm), 32)] or [b""]
    strings = " ".join('"' + "".join(f"\\{b:02x}" for b in chunk) + '"' for chunk in chunks)
    return f"{header} binary {strings}" + "\n" * original.count("\n") + ")"


def rewrite_script(text: str, wabt: Wabt) -> Rewritten:
    """The script with every text and quoted module encoded by wabt.js."""
    toks = tokens(text)
    forms = [f for f in scan_modules(text, toks) if f.kind in ("text", "quote")]
    results = wabt.to_binary([wabt_input(text, toks, f) for f in forms])
    pieces, rejected, position = [], [], 0
    for form, result in zip(forms, results):
        if isinstance(result, str):
            if form.command == "assert_malformed":
                rejected.append((form.line, result))
                continue  # stays text: the script expects it to be rejected
            where = "" if form.kind == "text" else f"quoted module at line {form.line}: "
            raise MalformedModule(f"wabt.js cannot parse legacy text: {where}{result}")
        pieces += [text[position:form.start], binary_form(form, result, text[form.start:form.end])]
        position = form.end
    pieces.append(text[position:])
    return Rewritten("".join(pieces), len(forms) - len(rejected), tuple(rejected))


def wabt_text_to_wasm(data: bytes, wabt: Wabt | None = None) -> bytes:
    """The text front end for legacy scripts: a text module to binary through
    wabt.js, or MalformedModule with wabt's error."""
    (result,) = (wabt or Wabt.find()).to_binary([data])
    if isinstance(result, str):
        raise MalformedModule(result)
    return result


def is_legacy_failure(error: WasmError, script_text: str) -> bool:
    """Whether json-from-wast's failure on a script is the legacy syntax: the
    unknown-operator error, in a script that has legacy instructions."""
    if "unknown operator or unexpected token" not in error.message:
        return False
    try:
        return has_legacy_syntax(script_text)
    except WasmError:
        return False
