"""Escape vector: O_CREAT and O_TRUNC through symlinks.  A link in the last
component is resolved by the sandbox before anything is created or truncated, so
a link pointing out (existing target: truncation; dangling target: creation) is
refused with the outside untouched; links inside work as POSIX says; O_EXCL and
no-follow never follow."""

import os

import pytest
from wasic_harness import ALL_RIGHTS, GRANT, O_CREAT, O_EXCL, O_TRUNC


@pytest.fixture
def links(sb):
    g = sb.grant
    os.symlink("../outside/secret", g / "trunc_out")
    os.symlink(str(sb.outside / "secret"), g / "trunc_abs")
    os.symlink("../outside/created", g / "creat_out")
    os.symlink(str(sb.outside / "created"), g / "creat_abs")
    os.symlink("hop", g / "chain_out")
    os.symlink("sub/../../outside/created", g / "hop")
    os.symlink("file", g / "trunc_in")
    os.symlink("sub/new", g / "creat_in")
    return sb


@pytest.mark.parametrize("path", ["trunc_out", "trunc_abs"])
@pytest.mark.parametrize("oflags", [O_TRUNC, O_CREAT | O_TRUNC, O_CREAT])
def test_truncating_through_a_link_out_refused(links, path, oflags):
    links.g.open(GRANT, path, oflags=oflags, rights=ALL_RIGHTS, expect="NOTCAPABLE")
    assert (links.outside / "secret").read_bytes() == b"SECRET"


@pytest.mark.parametrize("path", ["creat_out", "creat_abs", "chain_out"])
def test_creating_through_a_dangling_link_out_refused(links, path):
    links.g.open(GRANT, path, oflags=O_CREAT, rights=ALL_RIGHTS, expect="NOTCAPABLE")
    assert not (links.outside / "created").exists()


def test_links_inside_are_followed(links):
    g = links.g
    fd = g.open(GRANT, "trunc_in", oflags=O_TRUNC, rights=ALL_RIGHTS)
    assert (links.grant / "file").read_bytes() == b""
    g.write(fd, b"new")
    assert (links.grant / "file").read_bytes() == b"new"
    g.open(GRANT, "creat_in", oflags=O_CREAT, rights=ALL_RIGHTS)
    assert (links.grant / "sub" / "new").is_file()


def test_exclusive_never_follows(links):
    for path in ("trunc_out", "creat_out", "trunc_in", "creat_in"):
        links.g.open(GRANT, path, oflags=O_CREAT | O_EXCL, rights=ALL_RIGHTS, expect="EXIST")
    assert not (links.outside / "created").exists()


def test_nofollow_refuses_the_link(links):
    for path in ("trunc_out", "creat_out", "trunc_in"):
        links.g.open(GRANT, path, oflags=O_CREAT | O_TRUNC, rights=ALL_RIGHTS, follow=False,
                     expect="LOOP")
    assert (links.grant / "file").read_bytes() == b"hello"
