"""Escape vector: hard links.  Both names are resolved in the sandbox, so nothing
outside can be linked in (directly, through a symlinked directory, or by following
a symlink that points out), nothing can be linked out, and a file in a read-only
grant cannot get a writable name in another grant."""

import os

import pytest
from wasic_harness import FOLLOW, GRANT, OTHER, RO


@pytest.fixture
def links(sb):
    os.symlink("../outside/secret", sb.grant / "out")
    os.symlink("../outside", sb.grant / "outdir")
    return sb


def test_link_in_from_outside_refused(links):
    g = links.g
    g.link(GRANT, "../outside/secret", GRANT, "stolen", expect="NOTCAPABLE")
    g.link(GRANT, "outdir/secret", GRANT, "stolen", expect="NOTCAPABLE")
    g.link(GRANT, str(links.outside / "secret"), GRANT, "stolen", expect="NOTCAPABLE")
    assert not os.path.lexists(links.grant / "stolen")
    assert os.stat(links.outside / "secret").st_nlink == 1


def test_link_out_refused(links):
    g = links.g
    g.link(GRANT, "file", GRANT, "../outside/planted", expect="NOTCAPABLE")
    g.link(GRANT, "file", GRANT, "outdir/planted", expect="NOTCAPABLE")
    assert os.stat(links.grant / "file").st_nlink == 1


def test_symlink_source_is_linked_as_the_link(links):
    """Without following, a symlink pointing out is linked as the symlink itself:
    the new name is one more link to the LINK, never to the secret."""
    g = links.g
    g.link(GRANT, "out", GRANT, "copy")
    assert os.path.islink(links.grant / "copy")
    assert os.stat(links.outside / "secret").st_nlink == 1
    g.open(GRANT, "copy", expect="NOTCAPABLE")


def test_following_a_symlink_is_refused(links):
    links.g.link(GRANT, "out", GRANT, "copy", flags=FOLLOW, expect="INVAL")
    assert not os.path.lexists(links.grant / "copy")


def test_between_grants(links):
    g = links.g
    g.link(GRANT, "file", OTHER, "shared")  # both read-write grants: allowed
    assert os.path.samefile(links.grant / "file", links.other / "shared")
    g.link(RO, "file", GRANT, "writable", expect="NOTCAPABLE")  # read-only source
    g.link(GRANT, "file", RO, "planted", expect="NOTCAPABLE")   # read-only target
    assert not (links.grant / "writable").exists() and not (links.ro / "planted").exists()
