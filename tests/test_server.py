"""`svglm serve`: 127.0.0.1 only, files only from under $SVGLM_HOME, reports of training runs
refresh themselves, and the playground refuses what it cannot draw."""

from __future__ import annotations

import http.client
import shutil
import threading
import urllib.parse

import pytest

from svglm.report.html import build_hub
from svglm.report.server import make_server
from svglm.runs import RunDir


@pytest.fixture
def server(tiny_run, tmp_path):
    root = tmp_path / "home"
    shutil.copytree(tiny_run.root, root / "tiny")
    (tmp_path / "secret.txt").write_text("not yours")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    build_hub(root)
    srv = make_server(root, 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, RunDir(root / "tiny")
    srv.shutdown()
    srv.server_close()


def request(srv, method: str, path: str, body: str | None = None):
    con = http.client.HTTPConnection(*srv.server_address[:2], timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    con.request(method, path, body=body, headers=headers)
    response = con.getresponse()
    return response.status, dict(response.getheaders()), response.read().decode()


def test_it_listens_on_loopback_only(server):
    srv, _ = server
    assert srv.server_address[0] == "127.0.0.1"


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/tiny/../../secret.txt",
        "/link.txt",
        "//etc/passwd",
        "/tiny/%2e%2e/%2e%2e/secret.txt",
    ],
)
def test_paths_outside_home_are_refused(server, path):
    status, _, body = request(server[0], "GET", path)
    assert status in (403, 404) and "not yours" not in body


def test_files_under_home_are_served_and_nothing_is_written(server):
    srv, run = server
    status, headers, body = request(srv, "GET", "/tiny/run.yaml")
    assert status == 200 and body == run.config_path.read_text()
    assert request(srv, "PUT", "/tiny/run.yaml")[0] == 501
    assert request(srv, "POST", "/tiny/run.yaml", "x=1")[0] == 405
    assert request(srv, "GET", "/")[0] == 200


def test_the_report_of_a_training_run_refreshes_itself(server):
    srv, run = server
    _, headers, _ = request(srv, "GET", "/tiny/report.html")
    assert "Refresh" not in headers
    with run.lock():  # as `svglm run` holds it while it trains
        _, headers, _ = request(srv, "GET", "/tiny/report.html")
    assert headers["Refresh"] == "5"


def test_the_playground_answers_and_refuses_in_the_page(server):
    srv, _ = server
    form = {
        "run": "tiny",
        "prompt": "[intent] [topic:weekly_signups] [/intent]",
        "constrained": "1",
    }
    status, headers, page = request(srv, "POST", "/playground", urllib.parse.urlencode(form))
    assert status == 200 and 'id="picture" src="data:image/svg+xml;base64,' in page
    assert "<svg" not in page and "default-src 'none'" in page
    bad = request(srv, "POST", "/playground", urllib.parse.urlencode({**form, "run": "../x"}))[2]
    assert "no trained run" in bad
    bad = request(srv, "POST", "/playground", urllib.parse.urlencode({**form, "content": "{"}))[2]
    assert "not valid JSON" in bad


def test_a_port_out_of_range_is_a_usage_error():
    from typer.testing import CliRunner

    from svglm.cli import app

    result = CliRunner().invoke(app, ["serve", "--port", "99999"])
    assert result.exit_code == 2 and "65535" in result.output and result.exception is not None
