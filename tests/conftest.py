"""Options and fixtures shared by the whole test tree."""

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite the expected-output files of golden tests (tests/cli) from the actual output.",
    )


@pytest.fixture(scope="session", autouse=True)
def _reuse_stores_of_this_session(tmp_path_factory):
    """The reuse stores (driver/reuse.py: remembered executables and objects) of this
    test session, not the user's cache: every session compiles each module at least
    once whatever an earlier run remembered, and leaves none of its thousands of
    executables behind.  A test that builds the same module twice and means to
    compile twice says so (`BuildOptions(cache=False)`)."""
    from wasmaot.driver import reuse

    where = str(tmp_path_factory.mktemp("reuse"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reuse, "cache_dir", lambda: where)
        yield
