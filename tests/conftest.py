pytest_plugins = [
    "tests.fixtures.app",
    "tests.fixtures.factories",
    "tests.fixtures.auth",
    "tests.fixtures.mail",
    "tests.fixtures.browser",
    "tests.fixtures.dashboard",
    "tests.fixtures.training",
    "tests.fixtures.meetings",
]
