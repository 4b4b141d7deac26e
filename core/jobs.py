"""Background work with dramatiq: the broker, the actor decorator, the worker and the scheduler.

The broker is chosen from settings when the application is created: Redis when ``GONGHUI_REDIS_URL`` is set,
otherwise an in-process broker whose worker thread starts on the first message (the embedded default).
Actors are declared with ``@actor("<plugin>.<function>")`` at import time and bound to the broker later, so
importing a plugin never picks a broker by accident.

Every message carries the tenant id and the request id of the work that sent it. The job runner opens one
database session (the job's unit of work) inside that tenant's scope, and skips the message when the tenant
has since disabled the plugin that owns the actor: that is the job channel of the plugin gate.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage
from sqlalchemy import select

from core import request_context, tenancy
from core.models.tenant import Tenant, TenantPlugin

log = logging.getLogger(__name__)


@dataclass
class ActorSpec:
    name: str
    function: Callable
    queue: str
    options: dict

    @property
    def owner(self) -> str:
        return self.name.split(".", 1)[0]


_specs: dict[str, ActorSpec] = {}


class Actor:
    """A declared actor. ``send`` queues it for ``tenant`` (an id or a Tenant) with id-only arguments."""

    def __init__(self, spec: ActorSpec):
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    def send(self, tenant=None, **kwargs):
        tenant_id = getattr(tenant, "id", tenant)
        if tenant_id is None and (current := tenancy.current_tenant()) is not None:
            tenant_id = current.id
        return _runtime().send(self.spec, tenant_id, kwargs)

    def __call__(self, *args, **kwargs):
        return self.spec.function(*args, **kwargs)


def actor(name: str, *, queue: str = "default", max_retries: int = 5, time_limit_ms: int = 10 * 60 * 1000):
    """Declare an actor. ``name`` is ``<plugin>.<function>``; the function receives ``session``, ``tenant``
    and the keyword arguments it was sent with. It runs in its own transaction and must be idempotent:
    dramatiq delivers at least once."""
    owner = name.split(".", 1)[0]
    if "." not in name or not owner.isidentifier():
        raise ValueError(f"actor name {name!r} must be <plugin>.<function>")

    def decorator(function: Callable) -> Actor:
        spec = ActorSpec(name, function, queue, {"max_retries": max_retries, "time_limit": time_limit_ms})
        _specs[name] = spec
        return Actor(spec)

    return decorator


@dataclass
class JobRuntime:
    """The broker of one application and what its jobs need: the Flask app (for settings, db, plugins)."""

    app: object
    broker: dramatiq.Broker
    embedded: bool
    worker: dramatiq.Worker | None = None
    bound: dict[str, dramatiq.Actor] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bind(self, spec: ActorSpec) -> dramatiq.Actor:
        bound = self.bound.get(spec.name)
        if bound is None:
            with self.lock:
                bound = self.bound.get(spec.name)
                if bound is None:
                    bound = dramatiq.Actor(
                        _runner(self, spec), actor_name=spec.name, queue_name=spec.queue, priority=0,
                        broker=self.broker, options=dict(spec.options),
                    )
                    self.bound[spec.name] = bound
        return bound

    def bind_all(self) -> None:
        for spec in list(_specs.values()):
            self.bind(spec)

    def send(self, spec: ActorSpec, tenant_id: int | None, kwargs: dict):
        bound = self.bind(spec)
        if self.embedded:
            self.start_worker()
        options = {"tenant_id": tenant_id, "request_id": request_context.current().request_id}
        return bound.send_with_options(kwargs=kwargs, **options)

    def start_worker(self, threads: int = 2) -> dramatiq.Worker:
        with self.lock:
            if self.worker is None:
                self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=100)
                self.worker.start()
        return self.worker

    def stop_worker(self) -> None:
        with self.lock:
            worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()

    def drain(self, timeout_ms: int = 30000) -> None:
        """Wait until every queue is empty and every message processed (tests, demo loading)."""
        self.bind_all()
        self.start_worker()
        for queue in sorted(self.broker.get_declared_queues()):
            self.broker.join(queue, timeout=timeout_ms)
        self.worker.join()


_current: JobRuntime | None = None


def _runtime() -> JobRuntime:
    if _current is None:
        raise RuntimeError("no application has set up jobs in this process: call create_app first")
    return _current


def runtime() -> JobRuntime:
    return _runtime()


def _make_broker(settings) -> tuple[dramatiq.Broker, bool]:
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace="gonghui")
        embedded = False
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
        embedded = True
    broker.add_middleware(CurrentMessage())
    return broker, embedded


def init_app(app, state) -> None:
    """Give this process a broker for ``app``; a previous application's in-process worker is stopped."""
    global _current
    if _current is not None:
        _current.stop_worker()
        _current.broker.close()
    broker, embedded = _make_broker(state.settings)
    dramatiq.set_broker(broker)
    _current = JobRuntime(app=app, broker=broker, embedded=embedded)
    _current.bind_all()
    app.extensions["gonghui_jobs"] = _current


def _owner_enabled(session, tenant_id: int, owner: str) -> bool:
    if owner == "core":
        return True
    return session.scalar(
        select(TenantPlugin.id).where(
            TenantPlugin.tenant_id == tenant_id, TenantPlugin.plugin == owner, TenantPlugin.enabled
        )
    ) is not None


def _runner(job_runtime: JobRuntime, spec: ActorSpec) -> Callable:
    def run(**kwargs):
        message = CurrentMessage.get_current_message()
        options = message.options if message is not None else {}
        tenant_id = options.get("tenant_id")
        info = request_context.RequestInfo(options.get("request_id") or request_context.new_request_id(), "job")
        token = request_context.enter(info)
        app = job_runtime.app
        try:
            with app.app_context():
                database = app.extensions["gonghui"].db
                with database.unit_of_work() as session:
                    if tenant_id is None:
                        with tenancy.platform_scope(f"job {spec.name}"):
                            return spec.function(session=session, tenant=None, **kwargs)
                    with tenancy.platform_scope(f"load tenant for job {spec.name}"):
                        tenant = session.get(Tenant, tenant_id)
                        enabled = tenant is not None and tenant.active and _owner_enabled(session, tenant_id, spec.owner)
                    if not enabled:
                        log.info("job %s skipped: %s is not enabled for tenant %s", spec.name, spec.owner, tenant_id)
                        return None
                    with tenancy.tenant_scope(tenant):
                        return spec.function(session=session, tenant=tenant, **kwargs)
        finally:
            request_context.leave(token)

    run.__name__ = spec.name.replace(".", "_")
    return run


# --- the scheduler ----------------------------------------------------------------------------------------------


def tenants_with(session, plugin: str) -> list[int]:
    """Ids of the active tenants that enabled ``plugin`` ("core": every active tenant)."""
    with tenancy.platform_scope(f"scheduler: tenants with {plugin}"):
        query = select(Tenant.id).where(Tenant.active)
        if plugin != "core":
            query = query.join(TenantPlugin, TenantPlugin.tenant_id == Tenant.id).where(
                TenantPlugin.plugin == plugin, TenantPlugin.enabled
            )
        return list(session.scalars(query.order_by(Tenant.id)))


@dataclass
class Scheduler:
    """Sends each periodic job once per tenant that enabled its plugin, every ``every_seconds``.

    Run one scheduler per deployment (``gonghui scheduler``); the actors are idempotent, so a second one
    costs duplicate work, never a wrong result.
    """

    app: object
    jobs: list  # [(owner, PeriodicJob)]
    #: Core's own upkeep that covers every tenant in one go (``PeriodicJob``s sent once per period, no tenant).
    platform_jobs: list = field(default_factory=list)
    next_run: dict[str, float] = field(default_factory=dict)

    def _due(self, job, now: float) -> bool:
        if self.next_run.get(job.name, 0) > now:
            return False
        self.next_run[job.name] = now + job.every_seconds
        return True

    def tick(self, now: float | None = None) -> list[tuple[str, int | None]]:
        """Send every job that is due; return ``(job name, tenant id)`` for each message sent (tenant id None for
        a platform job)."""
        now = time.time() if now is None else now
        sent = []
        database = self.app.extensions["gonghui"].db
        with self.app.app_context(), database.unit_of_work() as session:
            for job in self.platform_jobs:
                if self._due(job, now):
                    job.actor.send()
                    sent.append((job.name, None))
            for owner, job in self.jobs:
                if not self._due(job, now):
                    continue
                for tenant_id in tenants_with(session, owner):
                    job.actor.send(tenant=tenant_id)
                    sent.append((job.name, tenant_id))
        return sent

    def run_forever(self, interval: float = 1.0) -> None:
        log.info("scheduler started with %d periodic jobs", len(self.jobs))
        while True:
            self.tick()
            time.sleep(interval)


def scheduler_for(app) -> Scheduler:
    from core.auth import login  # imported here: it declares actors with this module's decorator
    from core.contributions import PeriodicJob

    plugins = app.extensions["gonghui"].plugins
    upkeep = [PeriodicJob("core.forget_sign_in_state", login.forget_sign_in_state, login.FORGET_EVERY_SECONDS)]
    return Scheduler(app, plugins.contributions("periodic_jobs"), upkeep)
