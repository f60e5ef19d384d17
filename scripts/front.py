"""Write the nginx configuration of the front (port 8000) under .local/nginx/.

Stream paths (/streams/) go to uvicorn (ASGI, port 8002), everything else to gunicorn (WSGI,
port 8001). The same routing is in deploy/nginx.conf for docker-compose.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"


def render(
    *, listen: str, web: str, stream: str, prefix: Path, dossier_files: str | Path | None = None
) -> str:
    """The configuration; `dossier_files` is where the dossier's file-system storage lives
    (DOSSIER_FILES_ROOT, by default .local/dossier as in development)."""
    text = TEMPLATE.read_text()
    files = dossier_files or os.environ.get("DOSSIER_FILES_ROOT") or ROOT / ".local" / "dossier"
    user = "user root;" if os.geteuid() == 0 else ""
    return (
        text.replace("{{USER}}", user)
        .replace("{{LISTEN}}", listen)
        .replace("{{WEB}}", web)
        .replace("{{STREAM}}", stream)
        .replace("{{PREFIX}}", str(prefix))
        .replace("{{DOSSIER_FILES}}", str(Path(files).resolve()).rstrip("/"))
    )


def main() -> None:
    prefix = ROOT / ".local" / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    conf = render(
        listen=os.environ.get("FRONT_LISTEN", "127.0.0.1:8000"),
        web=os.environ.get("WEB_UPSTREAM", "127.0.0.1:8001"),
        stream=os.environ.get("STREAM_UPSTREAM", "127.0.0.1:8002"),
        prefix=prefix,
    )
    (prefix / "nginx.conf").write_text(conf)


if __name__ == "__main__":
    main()
