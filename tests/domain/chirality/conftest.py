from tests.support.chirality import (  # noqa: F401 - fixtures
    chat_server,
    chirality_environment,
    problem_file,
    runs_root,
)
