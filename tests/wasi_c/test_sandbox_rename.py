"""Escape vector: renames.  Both ends are resolved in the sandbox: nothing moves in
from outside or out of a grant, directly or through symlinked directories, and a
read-only grant is neither source nor target."""

import os

import pytest
from wasic_harness import GRANT, OTHER, RO


@pytest.fixture
def links(sb):
    os.symlink("../outside", sb.grant / "outdir")
    os.symlink("../outside/secret", sb.grant / "out")
    return sb


def test_rename_in_refused(links):
    g = links.g
    g.rename(GRANT, "../outside/secret", GRANT, "stolen", expect="NOTCAPABLE")
    g.rename(GRANT, "outdir/secret", GRANT, "stolen", expect="NOTCAPABLE")
    g.rename(GRANT, "outdir/dir", GRANT, "stolen", expect="NOTCAPABLE")
    assert not os.path.lexists(links.grant / "stolen")


def test_rename_out_refused(links):
    g = links.g
    g.rename(GRANT, "file", GRANT, "../outside/planted", expect="NOTCAPABLE")
    g.rename(GRANT, "file", GRANT, "outdir/planted", expect="NOTCAPABLE")
    g.rename(GRANT, "sub", GRANT, "outdir/sub", expect="NOTCAPABLE")
    g.rename(GRANT, "file", GRANT, str(links.outside / "planted"), expect="NOTCAPABLE")
    assert (links.grant / "file").exists() and (links.grant / "sub").is_dir()


def test_renaming_a_link_moves_only_the_link(links):
    links.g.rename(GRANT, "out", GRANT, "moved")
    assert os.readlink(links.grant / "moved") == "../outside/secret"


def test_over_a_symlink_replaces_the_link(links):
    """Renaming onto a symlink pointing out replaces the link, never its target."""
    links.g.rename(GRANT, "file", GRANT, "out")
    assert (links.grant / "out").read_bytes() == b"hello"
    assert not os.path.islink(links.grant / "out")


def test_dot_and_dotdot_cannot_be_renamed(links):
    g = links.g
    err = g.call("path_rename", GRANT, *g.path("."), GRANT, *g.path("x"))
    assert err != 0
    g.rename(GRANT, "..", GRANT, "x", expect="NOTCAPABLE")
    g.rename(GRANT, "sub/..", OTHER, "x", expect=err)
    assert not (links.other / "x").exists()


def test_between_grants(links):
    g = links.g
    g.rename(GRANT, "file", OTHER, "moved")  # both read-write: allowed
    assert (links.other / "moved").read_bytes() == b"hello"
    g.rename(RO, "file", GRANT, "stolen", expect="NOTCAPABLE")
    g.rename(OTHER, "moved", RO, "planted", expect="NOTCAPABLE")
    assert (links.ro / "file").exists() and not (links.ro / "planted").exists()
