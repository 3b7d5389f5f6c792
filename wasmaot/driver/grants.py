"""Grants: the directories, environment variables and listen sockets a guest
may reach, and the three ways they travel, defined once.

A grant is bytes, never text: a host path is what the kernel takes
(`os.fsencode` of a `str`, so a path that is not UTF-8 survives), a guest path
and an environment value are what the guest reads (any bytes).  The one byte
none of them can hold is NUL (C strings, `environ` and paths end at it), so a
grant with a NUL is refused with `GrantError`, before anything is built.

The channels:

1. Baked in by `wasmaot build`: the generated build configuration holds every
   value as a byte array with an explicit length (driver/build_config.py,
   which also renders the C layout and its static asserts).  No value is ever
   written as a C string literal, so no byte needs a C escape.
2. Given at run time through WASMAOT_DIR, WASMAOT_RO_DIR, WASMAOT_ENV and
   WASMAOT_TCP_LISTEN (`wasmaot run` uses the same variables): items separated
   by `,`; a backslash escapes the next byte, which must be `\\`, `,` or `:`
   (`\\,` is a comma inside an item, `\\\\` a backslash, `\\:` a colon that does not
   start the `::` between HOST and GUEST).  Any other escape, or a backslash
   at the end, is an error; empty items are skipped.  `escape_item` writes it
   here, `parse_list` in runtime_c/exe/main.c reads it.
3. Shown by `wasmaot inspect` (the manifest, JSON): a value that is valid
   UTF-8 is a JSON string; any other is an object `{"hex": "<its bytes>"}`
   (`manifest_value` / `from_manifest_value`).
"""

from __future__ import annotations

import os

from ..errors import WasmError

# The run-time variables, in the order the executable reads them.
VAR_DIR = "WASMAOT_DIR"
VAR_RO_DIR = "WASMAOT_RO_DIR"
VAR_ENV = "WASMAOT_ENV"
VAR_TCP_LISTEN = "WASMAOT_TCP_LISTEN"
RUN_TIME_VARS = (VAR_DIR, VAR_RO_DIR, VAR_ENV, VAR_TCP_LISTEN)
VAR_PREFIX = "WASMAOT_"  # every variable of wasmaot's: `wasmaot run` passes on none of the caller's

LIST_SEPARATOR = b","
ESCAPE = b"\\"
GUEST_SEPARATOR = b"::"
ESCAPABLE = b"\\,:"  # the bytes that may follow ESCAPE, each standing for itself
# Grants of one kind (directories, variables, sockets) an executable takes,
# baked and run-time together (runtime_c/exe/main.c has a fixed table each).
MAX_GRANTS = 256


class GrantError(WasmError):
    """A grant that cannot be given (a NUL byte, an empty name or path, too many)."""

    kind = "invalid grant"


def show(value: bytes) -> str:
    """A value in an error message: readable, one line, every byte visible."""
    return repr(value.decode("utf-8", "backslashreplace"))


def to_bytes(value: str | bytes | os.PathLike) -> bytes:
    """A grant given as text (argv, Python API) as the bytes it stands for:
    `os.fsencode` undoes the surrogateescape with which Python decoded argv."""
    return os.fsencode(value)


def _no_nul(value: bytes, what: str) -> bytes:
    if b"\0" in value:
        raise GrantError(f"{what} {show(value)} contains a NUL byte, which no path or "
                         f"environment value can hold")
    return value


class _Value:
    """An immutable record compared by its fields (what a frozen dataclass is:
    `dataclasses` and its imports would cost a cached `wasmaot run` 6 ms)."""

    __slots__ = ()

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + self._fields())

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Grant(_Value):
    """A directory: the host's `host` is the guest's preopen `guest`."""

    __slots__ = ("host", "guest", "readonly")

    def __init__(self, host: str | bytes | os.PathLike, guest: str | bytes | os.PathLike,
                 readonly: bool = False) -> None:
        # Accept str/PathLike from callers; store the bytes they stand for.
        host, guest = to_bytes(host), to_bytes(guest)
        object.__setattr__(self, "host", _no_nul(host, "host path"))
        object.__setattr__(self, "guest", _no_nul(guest, "guest path"))
        object.__setattr__(self, "readonly", readonly)
        if not host:
            raise GrantError("a directory grant needs a host path")
        if not guest:
            raise GrantError(f"the directory grant of {show(host)} has an empty guest path")

    @classmethod
    def parse(cls, spec: str | bytes, readonly: bool) -> "Grant":
        """`--dir HOST[::GUEST]` as given on the command line (one item, no
        escapes): split at the first `::`; GUEST defaults to HOST."""
        raw = to_bytes(spec)
        host, sep, guest = raw.partition(GUEST_SEPARATOR)
        return cls(host, guest if sep else host, readonly)


def env_grant(spec: str | bytes) -> bytes:
    """`NAME=VALUE` (this value) or `NAME` (the host's value when the program
    starts, if it has one), as bytes."""
    raw = _no_nul(to_bytes(spec), "environment grant")
    if raw.partition(b"=")[0] == b"":
        raise GrantError(f"environment grant {show(raw)} has no NAME (give NAME=VALUE or NAME)")
    return raw


def listen_grant(spec: str | bytes) -> bytes:
    """`HOST:PORT` of a socket to listen on."""
    raw = _no_nul(to_bytes(spec), "listen address")
    if not raw:
        raise GrantError("a listen grant needs an address (HOST:PORT)")
    return raw


def check_count(count: int, what: str) -> None:
    if count > MAX_GRANTS:
        raise GrantError(f"{count} {what} grants: an executable takes at most {MAX_GRANTS}")


# --- channel 2: the run-time lists --------------------------------------------------


def escape_item(value: bytes) -> bytes:
    """`value` as part of one list item: every byte of ESCAPABLE escaped, so
    no comma ends the item and no `::` splits it."""
    out = bytearray()
    for b in value:
        if b in ESCAPABLE:
            out += ESCAPE
        out.append(b)
    return bytes(out)


def dir_item(grant: Grant) -> bytes:
    return escape_item(grant.host) + GUEST_SEPARATOR + escape_item(grant.guest)


def list_value(items: list[bytes]) -> bytes:
    """Escaped items joined into one variable's value."""
    return LIST_SEPARATOR.join(items)


class RunGrants(_Value):
    """What `wasmaot run` grants (from --dir, --ro-dir, --env, --tcp-listen):
    `dirs` Grants, read-write and read-only; `env` bytes, as env_grant;
    `tcp_listen` bytes, as listen_grant."""

    __slots__ = ("dirs", "env", "tcp_listen")

    def __init__(self, dirs: tuple = (), env: tuple = (), tcp_listen: tuple = ()) -> None:
        object.__setattr__(self, "dirs", dirs)
        object.__setattr__(self, "env", env)
        object.__setattr__(self, "tcp_listen", tcp_listen)

    @classmethod
    def parse(cls, dirs=(), ro_dirs=(), env=(), tcp_listen=()) -> "RunGrants":
        return cls(tuple([Grant.parse(d, False) for d in dirs] +
                         [Grant.parse(d, True) for d in ro_dirs]),
                   tuple(env_grant(e) for e in env), tuple(listen_grant(a) for a in tcp_listen))

    def environment(self) -> dict[bytes, bytes]:
        """The WASMAOT_* variables that give these grants to an executable."""
        lists = {
            VAR_DIR: [dir_item(g) for g in self.dirs if not g.readonly],
            VAR_RO_DIR: [dir_item(g) for g in self.dirs if g.readonly],
            VAR_ENV: [escape_item(e) for e in self.env],
            VAR_TCP_LISTEN: [escape_item(a) for a in self.tcp_listen],
        }
        return {name.encode(): list_value(items) for name, items in lists.items() if items}


# --- channel 3: the manifest ----------------------------------------------------------


def manifest_value(value: bytes) -> str | dict:
    """A value as the manifest shows it: its text if it is UTF-8, else its hex."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": value.hex()}


def from_manifest_value(shown: str | dict) -> bytes:
    """The bytes a manifest value stands for (the inverse of manifest_value)."""
    if isinstance(shown, str):
        return shown.encode("utf-8")
    if isinstance(shown, dict) and set(shown) == {"hex"}:
        return bytes.fromhex(shown["hex"])
    raise WasmError(f"malformed manifest value: {shown!r}")
