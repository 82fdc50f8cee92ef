"""The README's API client example (curl and Python) runs against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from tests.api.helpers import make_token

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(language: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The API (`/api/v1`)", 1)[1].split("\n## ", 1)[0]
    found = re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)
    assert found, language
    return found[0]


def test_readme_client_examples_run(app, make_lab, make_user, make_org):
    lab = make_lab(name="Readme Lab", country="DE")
    user = make_user(organisation=make_org(kind="company", size_class="small"))
    token = make_token(app, user)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "LABNET_URL": f"http://127.0.0.1:{server.server_port}",
               "LABNET_TOKEN": token}
        # The README's own code, run as documented (our file, not untrusted input).
        python = subprocess.run([sys.executable, "-c", _blocks("python")], env=env,  # noqa: S603
                                capture_output=True, text=True, timeout=60, check=False)
        assert python.returncode == 0, python.stderr
        assert f"{lab.slug} DE" in python.stdout
        assert "0 bookings" in python.stdout
        shell = subprocess.run(["bash", "-euo", "pipefail", "-c", _blocks("sh")],  # noqa: S603, S607
                               env=env,
                               capture_output=True, text=True, timeout=60, check=False)
        assert shell.returncode == 0, shell.stderr
        assert '"items"' in shell.stdout
        assert "Readme Lab" in shell.stdout
    finally:
        server.shutdown()
