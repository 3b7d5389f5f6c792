"""Escape vector: symlinks out of the grant, made by the host before the guest
runs -- relative, absolute, chains, loops, dangling -- in the last component or in
the middle of a path.  Following one may never reach outside; the link itself
(stat without following, readlink, unlink) is inside and may be used."""

import os

import pytest
from wasic_harness import FT_SYMLINK, GRANT, O_CREAT, O_DIRECTORY


@pytest.fixture
def links(sb):
    g = sb.grant
    os.symlink("../outside/secret", g / "rel")
    os.symlink(str(sb.outside / "secret"), g / "abs")
    os.symlink(str(sb.grant / "file"), g / "abs_inside")          # absolute, even if inside
    os.symlink("../outside", g / "reldir")
    os.symlink(str(sb.outside), g / "absdir")
    os.symlink("chain2", g / "chain1")
    os.symlink("sub/chain3", g / "chain2")
    os.symlink("../../outside/secret", g / "sub" / "chain3")
    os.symlink("loop_b", g / "loop_a")
    os.symlink("loop_a", g / "loop_b")
    os.symlink("self", g / "self")
    os.symlink("../outside/nothing", g / "dangling_out")
    os.symlink("nothing", g / "dangling_in")
    os.symlink("sub/../../outside", g / "sneaky")
    os.symlink("file", g / "ok")                                   # inside: fine
    os.symlink("../file", g / "sub" / "ok_up")                     # inside: fine
    return sb


ESCAPES = ["rel", "abs", "abs_inside", "reldir/secret", "absdir/secret", "chain1",
           "dangling_out", "sneaky/secret", "reldir", "absdir/dir", "sub/chain3"]


@pytest.mark.parametrize("path", ESCAPES)
def test_following_refused(links, path):
    links.g.open(GRANT, path, expect="NOTCAPABLE")
    links.g.stat(GRANT, path, expect="NOTCAPABLE")


@pytest.mark.parametrize("path", ["loop_a", "self", "loop_a/x"])
def test_loops_end(links, path):
    links.g.open(GRANT, path, expect="LOOP")


def test_dangling_inside_is_noent(links):
    links.g.open(GRANT, "dangling_in", expect="NOENT")


def test_inside_links_work(links):
    g = links.g
    assert g.read(g.open(GRANT, "ok"), 10) == b"hello"
    assert g.read(g.open(GRANT, "sub/ok_up"), 10) == b"hello"


def test_nofollow_sees_the_link_itself(links):
    g = links.g
    st = g.stat(GRANT, "rel", follow=False)
    assert st["filetype"] == FT_SYMLINK
    assert g.readlink(GRANT, "rel") == b"../outside/secret"
    g.open(GRANT, "rel", follow=False, expect="LOOP")  # O_NOFOLLOW on a link


def test_intermediate_links_are_always_followed_inside(links):
    g = links.g
    # even without SYMLINK_FOLLOW (which is about the last component only)
    g.open(GRANT, "reldir/secret", follow=False, expect="NOTCAPABLE")
    g.open(GRANT, "absdir", oflags=O_DIRECTORY, expect="NOTCAPABLE")


def test_unlinking_a_link_leaves_its_target(links):
    links.g.unlink(GRANT, "rel")
    assert not os.path.lexists(links.grant / "rel")


def test_set_times_nofollow_touches_only_the_link(links):
    before = os.stat(links.outside / "secret").st_mtime_ns
    links.g.set_times(GRANT, "rel", 0, 10**9, 1 | 4, follow=False)
    assert os.lstat(links.grant / "rel").st_mtime_ns == 10**9
    assert os.stat(links.outside / "secret").st_mtime_ns == before
    links.g.set_times(GRANT, "rel", 0, 10**9, 1 | 4, expect="NOTCAPABLE")
    assert os.stat(links.outside / "secret").st_mtime_ns == before


def test_mkdir_through_a_link_out(links):
    links.g.mkdir(GRANT, "reldir/planted", expect="NOTCAPABLE")
    links.g.open(GRANT, "reldir/planted", oflags=O_CREAT, expect="NOTCAPABLE")
