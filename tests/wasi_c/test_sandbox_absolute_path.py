"""Escape vector: absolute paths.  A guest path is relative to its directory fd;
an absolute one would be resolved from the host's root, so it is refused outright
(even one naming a file inside the grant, or the grant's guest name)."""

import pytest
from wasic_harness import GRANT, O_CREAT


def paths(sb):
    return ["/", "/etc/passwd", str(sb.outside / "secret"), str(sb.grant / "file"),
            "/sandbox/file", "//etc/passwd"]


def test_open_refused(sb):
    for p in paths(sb):
        sb.g.open(GRANT, p, expect="NOTCAPABLE")
    sb.g.open(GRANT, str(sb.outside / "new"), oflags=O_CREAT, expect="NOTCAPABLE")
    assert not (sb.outside / "new").exists()


@pytest.mark.parametrize("op", ["stat", "lstat", "mkdir", "unlink", "rmdir", "readlink",
                                "rename_from", "rename_to", "link_from", "link_to", "symlink_at",
                                "set_times"])
def test_every_operation_refuses(sb, op):
    g, secret = sb.g, str(sb.outside / "secret")
    newp = str(sb.outside / "new")
    call = {
        "stat": lambda: g.stat(GRANT, secret, expect="NOTCAPABLE"),
        "lstat": lambda: g.stat(GRANT, secret, follow=False, expect="NOTCAPABLE"),
        "mkdir": lambda: g.mkdir(GRANT, newp, expect="NOTCAPABLE"),
        "unlink": lambda: g.unlink(GRANT, secret, expect="NOTCAPABLE"),
        "rmdir": lambda: g.rmdir(GRANT, str(sb.outside / "dir"), expect="NOTCAPABLE"),
        "readlink": lambda: g.readlink(GRANT, secret, expect="NOTCAPABLE"),
        "rename_from": lambda: g.rename(GRANT, secret, GRANT, "stolen", expect="NOTCAPABLE"),
        "rename_to": lambda: g.rename(GRANT, "file", GRANT, newp, expect="NOTCAPABLE"),
        "link_from": lambda: g.link(GRANT, secret, GRANT, "stolen", expect="NOTCAPABLE"),
        "link_to": lambda: g.link(GRANT, "file", GRANT, newp, expect="NOTCAPABLE"),
        "symlink_at": lambda: g.symlink("file", GRANT, newp, expect="NOTCAPABLE"),
        "set_times": lambda: g.set_times(GRANT, secret, 0, 0, 1 | 4, expect="NOTCAPABLE"),
    }
    call[op]()
    assert not (sb.outside / "new").exists()
    assert (sb.grant / "file").exists() and not (sb.grant / "stolen").exists()
