"""Escape vector: `..` -- climbing above the directory a path is relative to.

Each case runs on both resolvers (openat2 and the manual fallback), paranoid."""

import pytest
from wasic_harness import ALL_RIGHTS, GRANT, O_CREAT, O_DIRECTORY, RIGHTS

ESCAPES = ["..", "../", "../outside/secret", "sub/../../outside/secret", "sub/../..",
           "./../outside", "sub/./../../outside/dir", "empty/../sub/../../grant/file",
           "empty/../../outside", "sub/../sub/../../outside/secret"]


@pytest.mark.parametrize("path", ESCAPES)
def test_open_refused(sb, path):
    sb.g.open(GRANT, path, expect="NOTCAPABLE")


@pytest.mark.parametrize("path", ["../outside/new", "sub/../../outside/new"])
def test_create_refused_and_nothing_created(sb, path):
    sb.g.open(GRANT, path, oflags=O_CREAT, expect="NOTCAPABLE")
    assert not (sb.outside / "new").exists()


@pytest.mark.parametrize("path", ["sub/..", "sub/../file", "empty/../sub/inner", "./sub/../."])
def test_dotdot_inside_is_fine(sb, path):
    fd = sb.g.open(GRANT, path)
    sb.g.close(fd)


def test_subdirectory_fd_is_its_own_capability(sb):
    """A directory fd grants what is beneath IT: `..` from a subdirectory fd is an
    escape even though the parent is inside the same grant (cap-std's rule)."""
    g = sb.g
    sub = g.open(GRANT, "sub", oflags=O_DIRECTORY)
    g.open(sub, "../file", expect="NOTCAPABLE")
    g.open(sub, "..", expect="NOTCAPABLE")
    g.stat(sub, "..", expect="NOTCAPABLE")
    assert g.read(g.open(sub, "inner"), 10) == b"inner"


def test_every_path_operation_refuses(sb):
    g = sb.g
    g.stat(GRANT, "../outside/secret", expect="NOTCAPABLE")
    g.stat(GRANT, "../outside/secret", follow=False, expect="NOTCAPABLE")
    g.mkdir(GRANT, "../outside/newdir", expect="NOTCAPABLE")
    g.unlink(GRANT, "../outside/secret", expect="NOTCAPABLE")
    g.rmdir(GRANT, "../outside/dir", expect="NOTCAPABLE")
    g.readlink(GRANT, "../outside/secret", expect="NOTCAPABLE")
    g.rename(GRANT, "../outside/secret", GRANT, "stolen", expect="NOTCAPABLE")
    g.rename(GRANT, "file", GRANT, "../outside/planted", expect="NOTCAPABLE")
    g.link(GRANT, "../outside/secret", GRANT, "hard", expect="NOTCAPABLE")
    g.link(GRANT, "file", GRANT, "../outside/planted", expect="NOTCAPABLE")
    g.symlink("x", GRANT, "../outside/planted", expect="NOTCAPABLE")
    g.set_times(GRANT, "../outside/secret", 0, 0, 1 | 4, expect="NOTCAPABLE")
    g.set_times(GRANT, "../outside/secret", 0, 0, 1 | 4, follow=False, expect="NOTCAPABLE")
    assert not (sb.grant / "stolen").exists() and not (sb.grant / "hard").exists()
    assert (sb.outside / "secret").stat().st_mtime > 0
    assert (sb.outside / "dir").is_dir()


def test_rights_do_not_matter(sb):
    """Even with every right, `..` above the start stays refused."""
    sb.g.open(GRANT, "../outside/secret", rights=ALL_RIGHTS, inheriting=ALL_RIGHTS,
              expect="NOTCAPABLE")
    sb.g.open(GRANT, "../outside/secret", rights=RIGHTS["FD_READ"], expect="NOTCAPABLE")
