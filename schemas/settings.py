"""The one settings object, read from ``WIREWATCH_*`` environment variables and ``.env``.

Built once at each entry point and passed down; nothing else reads the
environment. Secrets are :class:`~pydantic.SecretStr` so they never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_BROKER_PORT = 19092


@dataclass(frozen=True)
class TopicNames:
    """The pipeline's topic names, with the configured prefix applied."""

    articles: str
    articles_dlq: str
    detections: str
    alerts: str
    alerts_dlq: str
    rules: str
    rules_history: str
    silences: str
    deliveries: str
    fetch_state: str
    fetch_pushes: str
    users: str
    audit: str
    routes: str
    receivers: str
    gazetteers: str

    @classmethod
    def with_prefix(cls, prefix: str) -> TopicNames:
        """Return the topic names, each prefixed by ``prefix``."""
        return cls(
            articles=f"{prefix}articles",
            articles_dlq=f"{prefix}articles.dlq",
            detections=f"{prefix}detections",
            alerts=f"{prefix}alerts",
            alerts_dlq=f"{prefix}alerts.dlq",
            rules=f"{prefix}rules",
            rules_history=f"{prefix}rules.history",
            silences=f"{prefix}silences",
            deliveries=f"{prefix}deliveries",
            fetch_state=f"{prefix}fetch.state",
            fetch_pushes=f"{prefix}fetch.pushes",
            users=f"{prefix}users",
            audit=f"{prefix}audit",
            routes=f"{prefix}routes",
            receivers=f"{prefix}receivers",
            gazetteers=f"{prefix}gazetteers",
        )


class Settings(BaseSettings):
    """Every setting of Wirewatch. Environment variables are ``WIREWATCH_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # --- Kafka -------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        default=None,
        description="host:port[,host:port] of an existing cluster. Unset: the local broker.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    topic_prefix: str = Field(default="", description="Prepended to every topic name.")
    partitions: int = Field(default=6, ge=1, description="Partitions of the pipeline topics.")
    replication_factor: int = Field(default=1, ge=1)
    send_timeout_s: float = Field(
        default=15.0, gt=0, description="Deadline for one Kafka send (aiokafka can hang)."
    )

    # --- Local development broker (used only when kafka_bootstrap is unset) --
    local_broker_port: int = LOCAL_BROKER_PORT
    local_controller_port: int = LOCAL_BROKER_PORT + 1
    local_broker_home: Path = Field(
        default=Path.home() / ".cache" / "wirewatch" / "kafka",
        description="Where the Kafka jars, data and logs of the local broker live.",
    )
    local_broker_heap: str = "768m"

    # --- Input limits -------------------------------------------------------
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    max_file_bytes: int = Field(default=20_000_000, ge=1)
    max_message_bytes: int = Field(
        default=1_000_000, ge=1, description="Largest record sent to Kafka (broker default ~1 MB)."
    )

    # --- Detection ----------------------------------------------------------
    rules_path: Path = Path("seeds/rules")
    gazetteer_path: Path = Path("seeds/entities")

    # --- Pipeline (stream workers) -------------------------------------------
    pipeline_id: str = Field(
        default="wirewatch-pipeline",
        description="faust app id: the workers' consumer group and the prefix of their "
        "internal topics (changelogs, stories). Workers sharing it share the partitions.",
    )
    pipeline_commit_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="Offsets (and the sends they cover) are committed this often: a crash "
        "replays at most this much processing, which the idempotency keys make harmless.",
    )
    pipeline_session_timeout_s: float = Field(
        default=10.0,
        ge=6,
        description="A worker silent this long is dropped from the group and its partitions "
        "go to the others (the broker's floor is 6 s by default).",
    )
    pipeline_max_poll_records: int = Field(
        default=500, ge=1, description="Most records fetched per poll (bounds one batch)."
    )
    dedup_window_s: float = Field(
        default=3600.0, gt=0, description="An article id seen again within this is dropped."
    )
    dedup_max_ids: int = Field(
        default=200_000, ge=1, description="Most article ids remembered per worker for de-dup."
    )
    story_window_s: float = Field(
        default=259_200.0,
        gt=0,
        description="How long a story stays open after its last article (72 h): a later "
        "report of the same event opens a new story.",
    )
    story_join_score: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Score (shared rare words, entities, numbers and figures; see README) "
        "an article needs to join an open story as a report of the same event.",
    )
    story_copy_similarity: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Resemblance of openings (MinHash of word shingles) above which an "
        "article is a near-verbatim copy of another: it counts as that article's source.",
    )
    story_max_open: int = Field(
        default=200_000,
        ge=1,
        description="Most stories open at once; the least recently joined closes first beyond it.",
    )
    story_max_articles: int = Field(
        default=500,
        ge=2,
        description="A story with this many articles stops absorbing (a flood of copies "
        "or an over-broad story opens new ones instead).",
    )
    rules_compile_timeout_s: float = Field(
        default=120.0, gt=0, description="Longest a worker waits for a rule set to compile."
    )
    rules_max_pack_bytes: int = Field(
        default=1_000_000,
        ge=1,
        description="Largest rule pack, in bytes of its YAML file (or of its JSON on the rules "
        "topic); a larger one is refused when loaded, published or received.",
    )
    rules_max_set_bytes: int = Field(
        # 100,000 generated rules are 43 MB of JSON and take a worker to about 0.5 GB
        default=128_000_000,
        ge=1,
        description="Largest rule set: all its packs together, counted as for one pack.",
    )
    rules_history_retention_days: int = Field(
        default=0,
        ge=0,
        description="How long the rules-history topic keeps every published version of every "
        "pack (for `rules history`, `diff` and `rollback`), at its creation; 0 keeps them forever.",
    )

    # --- Alerting -----------------------------------------------------------
    routes_path: Path = Path("seeds/routes.yaml")
    receivers: dict[str, list[SecretStr]] = Field(
        default_factory=dict,
        description=(
            "Receiver name -> apprise URLs, as JSON in WIREWATCH_RECEIVERS: "
            '{"desk-slack": ["slack://..."]}. Secrets: never commit them.'
        ),
    )
    receivers_key: SecretStr | None = Field(
        default=None,
        description="Encrypts the receiver URLs put on the receivers topic (`wirewatch receivers "
        "set`) and decrypts them in the notifier: a Fernet key, made with `wirewatch receivers "
        "key`. The same on every notifier and publisher.",
    )
    receivers_dir: Path | None = Field(
        default=None,
        description="A directory of secret files, one per receiver (file name = receiver "
        "name), one apprise URL per line; merged with `receivers`.",
    )
    notifier_group: str = Field(
        default="wirewatch-notifier", description="Consumer group of the notifier."
    )
    notifier_instance_id: str | None = Field(
        default=None,
        description="Static group membership id: a restarted notifier takes its place "
        "at once instead of waiting for the session timeout.",
    )
    notify_timeout_s: float = Field(
        default=10.0, gt=0, description="Deadline of one delivery attempt to one URL."
    )
    notify_max_attempts: int = Field(default=8, ge=1, description="Attempts per receiver URL.")
    notify_threads: int = Field(
        default=16, ge=1, description="Sends in flight at once (apprise sends block a thread)."
    )
    notify_retry_budget_s: float = Field(
        default=600.0,
        gt=0,
        description="Time after which a delivery still failing is dead-lettered.",
    )
    notify_ledger_patience_s: float = Field(
        default=300.0,
        gt=0,
        description="How long the notifier retries a delivery record while Kafka does not take "
        "it (a broker restart) before it stops; sends wait meanwhile.",
    )
    notify_backoff_s: float = Field(default=1.0, gt=0, description="First retry delay (doubles).")
    notify_backoff_max_s: float = Field(default=60.0, gt=0)
    notify_rate_limited_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="Least wait after an HTTP 429 when the service's Retry-After is not known.",
    )
    circuit_failures: int = Field(
        default=5, ge=1, description="Consecutive failures that open a receiver's circuit."
    )
    circuit_reset_s: float = Field(
        default=30.0, gt=0, description="How long an open circuit waits before one trial send."
    )

    # --- Fetching (`wirewatch fetch`, `wirewatch fetcher`) --------------------
    sources_path: Path = Field(
        default=Path("seeds/sources.yaml"), description="The sources file the fetcher polls."
    )
    fetch_allow_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="CIDR blocks the fetcher may reach although they are private, loopback, "
        'link-local or multicast, as JSON: ["10.1.0.0/16"]. Empty: none of them.',
    )
    fetch_contact: str = Field(
        default="",
        description="A URL or email address for publishers, sent in the fetcher's User-Agent.",
    )
    fetch_interval_s: float = Field(
        default=300.0, ge=1, description="Poll interval of a source that sets none."
    )
    fetch_min_interval_s: float = Field(
        default=60.0, ge=1, description="Shortest interval the adaptive schedule may reach."
    )
    fetch_max_interval_s: float = Field(
        default=3600.0, ge=1, description="Longest interval the adaptive schedule may reach."
    )
    fetch_connect_timeout_s: float = Field(default=10.0, gt=0)
    fetch_read_timeout_s: float = Field(
        default=20.0, gt=0, description="Longest wait for the next bytes of a response."
    )
    fetch_total_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest one request may take, redirects included."
    )
    fetch_max_bytes: int = Field(
        default=5_000_000, ge=1024, description="Largest response body, as sent (compressed)."
    )
    fetch_max_decompressed_bytes: int = Field(
        default=20_000_000, ge=1024, description="Largest response body once decompressed."
    )
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    fetch_concurrency: int = Field(default=100, ge=1, description="Requests in flight at once.")
    fetch_host_concurrency: int = Field(
        default=2, ge=1, description="Requests in flight at once to one host."
    )
    fetch_host_delay_s: float = Field(
        default=1.0, ge=0, description="Least time between two requests to one host."
    )
    fetch_backoff_max_s: float = Field(
        default=3600.0, gt=0, description="Longest wait after repeated failures of a source."
    )
    fetch_robots_ttl_s: float = Field(
        default=86_400.0, gt=0, description="How long a host's robots.txt is trusted."
    )
    fetch_max_items: int = Field(
        default=100, ge=1, description="Most new items taken from one fetch of a feed."
    )
    fetch_max_links: int = Field(
        default=30,
        ge=1,
        description="Most article pages followed from one fetch of a section page or sitemap "
        "(the rest on the next fetch).",
    )
    fetch_seen_items: int = Field(
        default=500, ge=10, description="Item ids remembered per source to tell new from seen."
    )
    fetch_extract_workers: int = Field(
        default=2, ge=0, description="Processes extracting article text (0: in the fetcher)."
    )
    fetch_group: str = Field(
        default="wirewatch-fetcher",
        description="Consumer group of the fetchers (under the topic prefix): sources are "
        "shared by their partition.",
    )
    fetch_instance_id: str | None = Field(
        default=None,
        description="Static group membership id: a restarted fetcher takes its sources back at "
        "once instead of after the session timeout.",
    )
    fetch_session_timeout_s: float = Field(
        default=10.0, ge=6, description="A fetcher silent this long loses its sources."
    )
    fetch_web_port: int = Field(
        default=6069, description="Port of the fetcher's health, metrics and WebSub callback."
    )
    fetch_callback_url: str | None = Field(
        default=None,
        description="Public base URL of the fetcher's web port (e.g. https://wirewatch.example"
        ".org:6069); WebSub hubs push to <it>/websub/<source id>. Unset: no WebSub.",
    )
    fetch_websub_lease_s: float = Field(
        default=86_400.0, ge=60, description="Lease asked of WebSub hubs; renewed before expiry."
    )
    fetch_failing_alert_s: float = Field(
        default=3600.0, gt=0, description="A source failing this long raises a source_health alert."
    )
    fetch_quiet_factor: float = Field(
        default=4.0,
        gt=1,
        description="A source without new items for this many times its usual gap between "
        "items raises a source_health alert.",
    )
    fetch_quiet_min_s: float = Field(
        default=21_600.0, gt=0, description="A source is never called quiet sooner than this."
    )

    # --- Demo -----------------------------------------------------------------
    demo_dir: Path = Field(
        default=Path.home() / ".cache" / "wirewatch" / "demo",
        description="Where `wirewatch demo` keeps each run: routes, alerts file, process logs.",
    )
    demo_notify: list[SecretStr] = Field(
        default_factory=list,
        description='Apprise URLs the demo also sends its alerts to, as JSON: ["mailto://..."].',
    )

    # --- Processes ----------------------------------------------------------
    web_host: str = Field(default="127.0.0.1", description="Bind address of the web servers.")
    worker_web_port: int = 6066
    notifier_web_port: int = 6067
    dashboard_port: int = Field(
        default=6068, description="Port of `wirewatch dashboard` (bound on web_host)."
    )
    dashboard_history: int = Field(
        default=500, ge=1, le=50_000, description="Most alerts the dashboard keeps and shows."
    )
    dashboard_window_s: float = Field(
        default=86_400.0,
        ge=3600,
        le=604_800,
        description="How far back the dashboard reads alerts, detections and dead letters "
        "at start, and the span of its hits-per-hour chart (one hour to one week).",
    )
    # --- Dashboard sign-in and the audit trail (README: Accounts and roles) ----
    dashboard_secret_key: SecretStr | None = Field(
        default=None,
        description="Signs the dashboard's session cookies (32 random bytes or more, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`). Give every instance "
        "the same key so a session works on each. Unset: a random key per process, so "
        "sessions end when it restarts.",
    )
    dashboard_session_hours: float = Field(
        default=12.0, gt=0, le=720, description="A dashboard session ends this long after sign-in."
    )
    dashboard_proxy_header: str | None = Field(
        default=None,
        description="Single sign-on behind an authenticating proxy: the request header that "
        "carries the signed-in user (oauth2-proxy: X-Forwarded-User or X-Auth-Request-User). "
        "Honoured only from dashboard_proxy_addresses.",
    )
    dashboard_proxy_addresses: list[str] = Field(
        default_factory=list,
        description='Addresses of the trusted proxy, as JSON CIDRs: ["10.0.0.5/32"]. The proxy '
        "header from any other address is ignored.",
    )
    dashboard_proxy_role: Literal["none", "viewer", "analyst"] = Field(
        default="viewer",
        description="Role of a proxy-authenticated user who has no account on the users topic; "
        "`none` refuses them. An account of the same name gives its own role.",
    )
    watch_email_url: SecretStr | None = Field(
        default=None,
        description="The apprise mailto URL (SMTP server, sender, mode; no `to=`) through which "
        "analysts' own email receivers are sent, e.g. mailtos://user:pass@smtp.example.org?"
        "from=wirewatch@example.org. Unset: the dashboard offers Slack webhooks only.",
    )
    watch_backtest_max_days: int = Field(
        default=14, ge=1, le=90, description="Most days of articles a watch's backtest reads."
    )
    watch_backtest_max_articles: int = Field(
        default=50_000, ge=1, description="Most articles a watch's backtest reads."
    )
    watch_backtest_timeout_s: float = Field(
        default=20.0, gt=0, description="Longest a watch's backtest runs; it stops there."
    )
    audit_retention_days: int = Field(
        default=400, ge=1, description="How long the audit topic keeps events (at its creation)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    @property
    def topics(self) -> TopicNames:
        """The topic names, with :attr:`topic_prefix` applied."""
        return TopicNames.with_prefix(self.topic_prefix)

    @property
    def bootstrap_servers(self) -> str:
        """The bootstrap servers to use: the configured ones, else the local broker."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.local_broker_port}"

    @property
    def uses_local_broker(self) -> bool:
        """True when no cluster is configured, so the local broker serves."""
        return not self.kafka_bootstrap
