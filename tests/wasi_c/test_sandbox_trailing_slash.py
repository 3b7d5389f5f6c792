"""Escape vector: trailing slashes.  "x/" makes x a directory that is resolved
THROUGH (a symlink there is followed, as POSIX says, even without SYMLINK_FOLLOW):
a link out with a slash after it must still be refused, and a file with a slash is
not a directory."""

import os

import pytest
from wasic_harness import ALL_RIGHTS, FT_DIR, GRANT, O_CREAT, O_DIRECTORY


@pytest.fixture
def links(sb):
    os.symlink("../outside", sb.grant / "out")
    os.symlink(str(sb.outside), sb.grant / "outabs")
    os.symlink("sub", sb.grant / "in")
    return sb


@pytest.mark.parametrize("path", ["out/", "out//", "outabs/", "out/.", "out/dir/", "../",
                                  "sub/../../"])
def test_links_out_with_slash_refused(links, path):
    g = links.g
    g.open(GRANT, path, oflags=O_DIRECTORY, expect="NOTCAPABLE")
    g.open(GRANT, path, oflags=O_DIRECTORY, follow=False, expect="NOTCAPABLE")
    g.stat(GRANT, path, follow=False, expect="NOTCAPABLE")


def test_slash_follows_inside_links(links):
    g = links.g
    assert g.stat(GRANT, "in/", follow=False)["filetype"] == FT_DIR
    fd = g.open(GRANT, "in/", oflags=O_DIRECTORY, follow=False)
    assert g.read(g.open(fd, "inner"), 10) == b"inner"


def test_file_with_slash_is_not_a_directory(links):
    g = links.g
    g.open(GRANT, "file/", expect="NOTDIR")
    g.stat(GRANT, "file/", expect="NOTDIR")
    g.unlink(GRANT, "file/", expect="NOTDIR")
    g.rename(GRANT, "file/", GRANT, "moved", expect="NOTDIR")
    g.rename(GRANT, "file", GRANT, "moved/", expect="NOTDIR")
    g.link(GRANT, "file/", GRANT, "hard", expect="NOTDIR")
    assert (links.grant / "file").read_bytes() == b"hello"


def test_create_with_slash_creates_nothing(links):
    g = links.g
    g.open(GRANT, "out/new", oflags=O_CREAT, rights=ALL_RIGHTS, expect="NOTCAPABLE")
    # "newfile/" names a directory: creating a file by it fails (the errno is the
    # kernel's, ISDIR or NOENT depending on the resolver) and creates nothing.
    err = g.call("path_open", GRANT, 1, *g.path("newfile/"), O_CREAT, ALL_RIGHTS,
                       ALL_RIGHTS, 0, g.alloc(4, 4))
    assert err != 0
    assert not (links.grant / "newfile").exists()
    g.mkdir(GRANT, "out/newdir/", expect="NOTCAPABLE")
    assert not (links.outside / "newdir").exists()


def test_directory_operations_with_slash(links):
    g = links.g
    g.mkdir(GRANT, "made/")
    assert (links.grant / "made").is_dir()
    g.rmdir(GRANT, "made/")
    assert not (links.grant / "made").exists()
    g.unlink(GRANT, "sub/", expect="ISDIR")
    g.rename(GRANT, "empty/", GRANT, "renamed/")
    assert (links.grant / "renamed").is_dir()
