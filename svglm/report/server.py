"""`svglm serve`: the hub, the reports and a playground, on 127.0.0.1 only.

Files are served read-only, and only from under $SVGLM_HOME: a path that resolves outside it
(`..`, a symlink, an absolute path) is refused with 403. A run that is training right now has
its report served with a `Refresh` header, so the page follows it. The playground draws with a
run's model (svglm.infer.generate); its answer shows the picture only as an <img>.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from svglm.errors import SvglmError
from svglm.infer.generate import Drawer
from svglm.infer.sampler import Sampling
from svglm.report.html import build_hub, environment, svg_data_uri
from svglm.runs import RunDir, hub_page, list_runs

HOST = "127.0.0.1"  # never another interface: the server has no authentication
MAX_FORM = 1 << 20
REFRESH_S = 5


class Playground:
    """Drawers loaded once per (run, constrained), shared by the server's threads."""

    def __init__(self, root: Path):
        self.root = root
        self.drawers: dict[tuple[str, bool], Drawer] = {}
        self.lock = threading.Lock()

    def runs(self) -> list[str]:
        return [r["name"] for r in list_runs(self.root) if r["checkpoint"]]

    def draw(self, run: str, prompt: str, content: str, constrained: bool) -> dict[str, Any]:
        if run not in self.runs():
            raise SvglmError(f"no trained run {run!r}")
        pack = json.loads(content) if content.strip() else None
        if pack is not None and not isinstance(pack, dict):
            raise SvglmError("a content pack is a JSON object")
        with self.lock:  # one model call at a time: two cores, and a drawer is not shared-safe
            key = (run, constrained)
            if key not in self.drawers:
                self.drawers[key] = Drawer(RunDir(self.root / run), constrained)
            drawing = self.drawers[key].draw([prompt], Sampling(max_tokens=256), pack)[0]
        return {"drawing": drawing, "picture": svg_data_uri(drawing.svg)}


class Handler(BaseHTTPRequestHandler):
    server_version = "svglm"

    def __init__(self, *args: Any, root: Path, playground: Playground, **kwargs: Any):
        self.root, self.playground = root, playground
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # quiet; errors still go out
        pass

    def send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def refuse(self, status: HTTPStatus, why: str) -> None:
        self.send(status, f"{status.value} {status.phrase}: {why}\n".encode(), "text/plain")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/playground":
            return self.page(self.playground_page())
        if path in ("/", "/index.html"):
            build_hub(self.root)  # always current
            return self.file(hub_page(self.root))
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root.resolve()):
            return self.refuse(HTTPStatus.FORBIDDEN, "outside $SVGLM_HOME")
        if not target.is_file():
            return self.refuse(HTTPStatus.NOT_FOUND, path)
        self.file(target)

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/playground":
            return self.refuse(HTTPStatus.METHOD_NOT_ALLOWED, "only the playground takes forms")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM:
            return self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form over 1 MiB")
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
        run, prompt = form.get("run", ""), form.get("prompt", "")
        content, constrained = form.get("content", ""), form.get("constrained") == "1"
        context: dict[str, Any] = {
            "chosen": run,
            "prompt": prompt,
            "content": content,
            "constrained": constrained,
        }
        try:
            context |= self.playground.draw(run, prompt, content, constrained)
        except json.JSONDecodeError:
            context["failure"] = "the content pack is not valid JSON"
        except SvglmError as e:
            context["failure"] = str(e)
        self.page(self.playground_page(**context))

    def playground_page(self, **context: Any) -> str:
        runs = self.playground.runs()
        context.setdefault("chosen", runs[0] if runs else "")
        return environment().get_template("playground.html").render(runs=runs, **context)

    def page(self, html: str) -> None:
        self.send(HTTPStatus.OK, html.encode(), "text/html; charset=utf-8")

    def file(self, target: Path) -> None:
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        extra = {}
        if target.name == "report.html" and RunDir(target.parent).is_busy():
            extra["Refresh"] = str(REFRESH_S)  # the run is training: follow it
        if ctype.startswith("text/") or ctype == "application/json":
            ctype += "; charset=utf-8"
        self.send(HTTPStatus.OK, target.read_bytes(), ctype, extra)


def make_server(root: Path, port: int) -> ThreadingHTTPServer:
    root.mkdir(parents=True, exist_ok=True)
    handler = partial(Handler, root=root, playground=Playground(root))
    return ThreadingHTTPServer((HOST, port), handler)
