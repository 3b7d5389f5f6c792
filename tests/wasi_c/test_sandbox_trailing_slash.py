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


def entries(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# link(old, new) and symlink(target, new) with a slash on either name: "x/" names
# what x resolves to (through a symlink, inside the grant) and must be a
# directory.  The errnos are wasmtime's and wasi-testsuite's (path_link,
# path_symlink_trailing_slashes); Linux agrees except for an existing
# non-directory named "x/" as the new name, where link(2) says EXIST.
@pytest.mark.parametrize(("old", "new", "expect"), [
    ("file", "hard/", "NOENT"),      # the slash is on the NEW name (the old check looked at old)
    ("file", "empty/", "EXIST"),
    ("file", "in/", "EXIST"),        # a symlink to a directory, followed
    ("file", "file/", "NOTDIR"),
    ("missing", "file/", "NOTDIR"),  # the new name is checked before the kernel sees the old
    ("sub", "hard/", "NOENT"),       # not PERM: the new name fails first, as in link(2)
    ("sub/", "hard", "PERM"),        # a directory cannot be linked
    ("in/", "hard", "PERM"),         # ... nor the symlink "in" linked in its place
    ("sub/", "file", "EXIST"),
    ("file/", "hard", "NOTDIR"),
    ("missing/", "hard/", "NOENT"),
    ("file", "out/", "NOTCAPABLE"),  # resolving the slash may not leave the grant
    ("out/", "hard", "NOTCAPABLE"),
])
def test_link_with_slash_on_either_name(links, old, new, expect):
    before = entries(links.grant), entries(links.outside)
    links.g.link(GRANT, old, GRANT, new, expect=expect)
    assert (entries(links.grant), entries(links.outside)) == before


@pytest.mark.parametrize(("new", "expect"), [
    ("made/", "NOENT"), ("empty/", "EXIST"), ("in/", "EXIST"), ("file/", "NOTDIR"),
    ("out/", "NOTCAPABLE"),
])
def test_symlink_with_slash_on_the_new_name(links, new, expect):
    before = entries(links.grant), entries(links.outside)
    links.g.symlink("file", GRANT, new, expect=expect)
    assert (entries(links.grant), entries(links.outside)) == before
