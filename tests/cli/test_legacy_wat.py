"""Legacy exception-handling scripts (commands/legacy_wat.py): the module scanner,
the rewriting to binary modules, and `wasmaot wast` on such a script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from wasmaot.cli import cli
from wasmaot.commands import legacy_wat
from wasmaot.commands.legacy_wat import (
    LegacyTextUnavailable,
    Wabt,
    has_legacy_syntax,
    rewrite_script,
    scan_modules,
    string_bytes,
    tokens,
)
from wasmaot.commands.wast import convert_script
from wasmaot.driver.wat import wasm_tools_executable
from wasmaot.errors import MalformedModule

# Parens, `module` and quotes inside comments and strings, which the scanner must
# not take for forms; named, definition, nested, quoted and binary modules.
SCRIPT = r'''
;; (module $not-a-module) "not a string
(; block (; nested (module) ;) still comment ;)
(module $first
  (func (export "f") (result i32) (i32.const 7))  ;; ) unbalanced in a comment
  (data "\")(module" "(;")
)
(assert_invalid
  (module (func (result i32)))
  "type mismatch (module)")
(assert_malformed (module quote "(module" " (func (; ;) (catch_all)))") "unexpected token")
(module definition $def (memory 1))
(assert_unlinkable (module (import "x" "y" (func))) "unknown import")
(module binary "\00asm" "\01\00\00\00")
(register "m" $first)
(assert_return (invoke $first "f") (i32.const 7))
'''


def test_tokens_skip_comments_and_keep_strings_whole() -> None:
    source = r'(a ;; (b' '\n' r'(; (c ;) "d)\"(" e)'
    assert [source[t.start:t.end] for t in tokens(source)] == ["(", "a", '"d)\\"("', "e", ")"]


def test_scan_finds_every_module_form_and_nothing_in_strings_or_comments() -> None:
    forms = scan_modules(SCRIPT)
    summary = [(f.line, f.command, f.kind, f.name, f.definition) for f in forms]
    assert summary == [
        (4, None, "text", "$first", False),
        (9, "assert_invalid", "text", None, False),
        (11, "assert_malformed", "quote", None, False),
        (12, None, "text", "$def", True),
        (13, "assert_unlinkable", "text", None, False),
        (14, None, "binary", None, False),
    ]
    first = forms[0]
    assert SCRIPT[first.start:first.end].startswith("(module $first")
    assert SCRIPT[first.start:first.end].endswith('"(;")\n)')


def test_scan_rejects_unterminated_strings_and_comments() -> None:
    with pytest.raises(MalformedModule, match=r"unterminated string \(line 2\)"):
        scan_modules('(module)\n(module (data "abc))\n')
    with pytest.raises(MalformedModule, match=r"unterminated block comment \(line 1\)"):
        scan_modules("(module) (; (; ;)")
    with pytest.raises(MalformedModule, match=r"unclosed parenthesis \(line 1\)"):
        scan_modules("(module (func)")


def test_string_escapes() -> None:
    assert string_bytes(r'"a\n\t\"\\\'\00\ff\u{48}\u{1F600}é"') == \
        b'a\n\t"\\\'\x00\xffH' + "\U0001F600é".encode()
    with pytest.raises(MalformedModule):
        string_bytes(r'"\q"')


def test_legacy_syntax_is_seen_only_in_code() -> None:
    assert has_legacy_syntax("(module (func (try (do))))")
    assert has_legacy_syntax("(module (func rethrow 0))")
    assert not has_legacy_syntax('(module (func (try_table))) ;; try\n(assert_malformed (module quote "try") "")')


class RecordingWabt:
    """Stands in for wabt.js where the test is about what it is given and how
    its answers are placed: each text becomes `\\0asm` plus its length, a text
    containing `catch_all` is rejected."""

    def __init__(self):
        self.inputs: list[bytes] = []

    def to_binary(self, texts):
        self.inputs += texts
        return ["unexpected token (line 1, column 16)" if b"catch_all" in t
                else b"\0asm" + bytes([len(t) % 256]) for t in texts]


def test_rewrite_keeps_every_line_and_names_and_leaves_rejected_malformed_text() -> None:
    wabt = RecordingWabt()
    out = rewrite_script(SCRIPT, wabt)
    assert out.text.count("\n") == SCRIPT.count("\n")
    assert out.modules == 4
    assert out.rejected == ((11, "unexpected token (line 1, column 16)"),)
    # Each text form is given to wabt at its own line and column.
    first = wabt.inputs[0].decode()
    assert first.count("\n", 0, first.index("(module $first")) == 3
    assert first.splitlines()[3].startswith("(module $first")
    nested = wabt.inputs[1].decode()
    assert nested.splitlines()[8] == "  (module (func (result i32)))"
    assert wabt.inputs[2] == b"(module  (func (; ;) (catch_all)))"
    assert b"definition" not in wabt.inputs[3] and wabt.inputs[3].lstrip().startswith(b"(module")
    forms = scan_modules(out.text)
    assert [(f.line, f.kind, f.name, f.definition) for f in forms] == [
        (4, "binary", "$first", False), (9, "binary", None, False), (11, "quote", None, False),
        (12, "binary", "$def", True), (13, "binary", None, False), (14, "binary", None, False)]
    assert '(module $first binary "\\00\\61\\73\\6d' in out.text
    assert "(register \"m\" $first)\n(assert_return" in out.text


def test_rewrite_fails_on_a_module_wabt_rejects_outside_assert_malformed() -> None:
    with pytest.raises(MalformedModule, match=r"wabt.js cannot parse legacy text: unexpected token"):
        rewrite_script("(module (func (catch_all)))", RecordingWabt())


def test_missing_node_is_one_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LegacyTextUnavailable, match=r"^node not found on PATH; legacy exception-handling "
                                                    r"text needs node and wabt.js 1.0.39"):
        Wabt.find()


def test_missing_wabt_names_where_it_looked(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(legacy_wat, "wabt_prefixes", lambda: [tmp_path])
    if not (legacy_wat.shutil.which("node") or legacy_wat.shutil.which("nodejs")):
        pytest.skip("node is not installed")
    with pytest.raises(LegacyTextUnavailable, match=f"wabt.js 1.0.39 not found \\(looked in {tmp_path}\\)"):
        Wabt.find()


# --- with the real wabt.js ---------------------------------------------------------


def real_wabt() -> Wabt:
    try:
        return Wabt.find()
    except LegacyTextUnavailable as e:
        pytest.skip(e.message)


def _json_lines(script: Path, out: Path) -> list[tuple[int, str]]:
    out.mkdir()
    subprocess.run([wasm_tools_executable(), "json-from-wast", str(script), "-o", str(out / "s.json"),
                    "--wasm-dir", str(out)], check=True, capture_output=True)
    return [(c["line"], c["type"]) for c in json.loads((out / "s.json").read_text())["commands"]]


def test_rewritten_script_has_the_same_commands_on_the_same_lines(tmp_path) -> None:
    """A script wasm-tools reads as it is and rewritten: json-from-wast sees the
    same commands on the same lines, and the same module bytes (wabt and
    wasm-tools encode these modules alike)."""
    script = SCRIPT.replace("(catch_all)", "(nop")  # a malformed text wasm-tools and wabt both reject
    rewritten = rewrite_script(script, real_wabt())
    assert rewritten.rejected and rewritten.rejected[0][0] == 11
    (tmp_path / "a.wast").write_text(script)
    (tmp_path / "b.wast").write_text(rewritten.text)
    assert _json_lines(tmp_path / "a.wast", tmp_path / "a") == _json_lines(tmp_path / "b.wast", tmp_path / "b")
    for n in (0, 1, 3, 4, 5):  # the modules wasm-tools encodes; s.2 is the quoted text
        assert _stripped(tmp_path / "a" / f"s.{n}.wasm") == _stripped(tmp_path / "b" / f"s.{n}.wasm")


def _stripped(wasm: Path) -> bytes:
    """The module without custom sections (wasm-tools writes a `name` section)."""
    return subprocess.run([wasm_tools_executable(), "strip", "--all", str(wasm)], check=True,
                          capture_output=True).stdout


LEGACY = """\
(module
  (tag $e (param i32))
  (func (export "catch") (param i32) (result i32)
    (try (result i32)
      (do (local.get 0) (throw $e))
      (catch $e)))
)
(assert_invalid (module (func (rethrow 0))) "invalid rethrow label")
(assert_malformed
  (module quote "(module (func (delegate 0)))")
  "unexpected token")
(assert_malformed
  (module quote "(module (func (try (do) (delegate 0))))")
  "unexpected token")
"""


def test_legacy_script_converts_and_its_front_end_is_wabt(tmp_path) -> None:
    real_wabt()
    (tmp_path / "legacy.wast").write_text(LEGACY)
    converted = convert_script(tmp_path / "legacy.wast", tmp_path)
    assert converted.legacy
    cmds = converted.script["commands"]
    assert [(c["line"], c["type"], c["module_type"]) for c in cmds] == [
        (1, "module", "binary"), (8, "assert_invalid", "binary"), (10, "assert_malformed", "text"),
        (13, "assert_malformed", "binary")]
    with pytest.raises(MalformedModule, match="unexpected token"):
        converted.text_to_wasm(tmp_path / cmds[2]["filename"])


def test_wast_cli_runs_a_legacy_script(tmp_path) -> None:
    real_wabt()
    (tmp_path / "legacy.wast").write_text(LEGACY)
    result = CliRunner().invoke(cli, ["wast", "-v", str(tmp_path / "legacy.wast")], prog_name="wasmaot",
                                catch_exceptions=False)
    # The quoted module at line 13 is well-formed legacy text: wabt accepts it,
    # so the script's claim that it is malformed fails, as it must.
    assert ":13:" in result.stdout and "expected malformed module" in result.stdout
    assert "json-from-wast cannot convert" not in result.stdout + result.stderr


def test_wast_cli_without_node_says_so_in_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    (tmp_path / "legacy.wast").write_text(LEGACY)
    result = CliRunner().invoke(cli, ["wast", str(tmp_path / "legacy.wast")], prog_name="wasmaot",
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert "node not found on PATH; legacy exception-handling text needs node and wabt.js" in result.output
    assert "Traceback" not in result.output


def test_plain_scripts_do_not_take_the_legacy_path(tmp_path, monkeypatch) -> None:
    """Only the unknown-operator failure of a script with legacy instructions
    goes to wabt: another unparsable script keeps json-from-wast's error."""
    monkeypatch.setattr(legacy_wat.Wabt, "find", classmethod(lambda cls: pytest.fail("wabt used")))
    (tmp_path / "bad.wast").write_text("(module (func (bogus.op)))\n")
    with pytest.raises(Exception, match="json-from-wast cannot convert it: unknown operator"):
        convert_script(tmp_path / "bad.wast", tmp_path)
    (tmp_path / "ok.wast").write_text("(module (func))\n")
    assert not convert_script(tmp_path / "ok.wast", tmp_path).legacy
