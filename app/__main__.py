"""`python -m app`: serve on $HOST:$PORT with the settings from the environment."""

import uvicorn

from app.core.config import get_settings


def main() -> None:
    s = get_settings()
    uvicorn.run("app.main:app", host=s.host, port=s.port, workers=s.workers, log_level=s.log_level,
                loop="uvloop", http="httptools", timeout_graceful_shutdown=8, timeout_keep_alive=5,
                proxy_headers=True, forwarded_allow_ips="*", access_log=False)


if __name__ == "__main__":
    main()
