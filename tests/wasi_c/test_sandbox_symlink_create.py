"""Escape vector: symlinks the guest creates.  A link left behind must not point a
host program (or a later grant) outside: targets that are absolute, or whose `..`s
climb above the grant from where the link is made, are refused and nothing is
created; relative targets that stay inside work, wherever the link is made from."""

import os

import pytest
from wasic_harness import GRANT, O_DIRECTORY


@pytest.mark.parametrize("link,target", [
    ("l", "/etc/passwd"),
    ("l", "/"),
    ("l", ".."),
    ("l", "../outside/secret"),
    ("l", "sub/../../outside"),
    ("l", "./../x"),
    ("sub/l", "../../outside"),
    ("sub/l", "../.."),
    ("empty/l", "../sub/../../x"),
])
def test_escaping_target_refused(sb, link, target):
    sb.g.symlink(target, GRANT, link, expect="NOTCAPABLE")
    assert not os.path.lexists(sb.grant / link)


@pytest.mark.parametrize("link,target", [
    ("l", "file"),
    ("l", "sub/inner"),
    ("l", "nonexistent"),          # dangling inside is fine
    ("l", "sub/../file"),
    ("sub/l", "../file"),
    ("sub/l", "../sub/../file"),
    ("l", "."),
    ("l", "a//b/"),
])
def test_inside_target_made(sb, link, target):
    sb.g.symlink(target, GRANT, link)
    assert os.readlink(sb.grant / link) == target


def test_depth_counts_from_the_grant_not_the_fd(sb):
    """A link made through a subdirectory fd may climb up to the grant's root."""
    g = sb.g
    sub = g.open(GRANT, "sub", oflags=O_DIRECTORY)
    g.symlink("../file", sub, "l")
    assert (sb.grant / "sub" / "l").read_bytes() == b"hello"
    g.symlink("../../outside", sub, "l2", expect="NOTCAPABLE")


def test_empty_target(sb):
    sb.g.symlink("", GRANT, "l", expect="NOENT")


def test_existing_name(sb):
    sb.g.symlink("file", GRANT, "file", expect="EXIST")
    sb.g.symlink("file", GRANT, "sub/", expect="EXIST")
