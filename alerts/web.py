"""The notifier's small web server: ``/healthz`` and Prometheus ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from alerts.metrics import NotifierMetrics


class WebServer:
    """Serves health and metrics on ``host:port`` (bind 127.0.0.1 unless configured)."""

    def __init__(
        self,
        metrics: NotifierMetrics,
        health: Callable[[], dict[str, Any]],
        host: str,
        port: int,
    ) -> None:
        self._metrics = metrics
        self._health = health
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and serve."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def _healthz(self, _: web.Request) -> web.Response:
        state = self._health()
        return web.json_response(state, status=200 if state.get("ok") else 503)

    async def _metrics_page(self, _: web.Request) -> web.Response:
        body = generate_latest(self._metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
