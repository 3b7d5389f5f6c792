"""Options shared by the whole test tree."""


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite the expected-output files of golden tests (tests/cli) from the actual output.",
    )
