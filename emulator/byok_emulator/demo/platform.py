"""The platform app as ``template.yaml`` describes it: functions, their environment, their rules.

Why read the template instead of wiring handlers by hand: the demo must show what a deployment
does, so an event reaches a function only if one of that function's rules (``Events`` of type
``EventBridgeRule``, on the bus the rule names) matches it, with moto's EventBridge pattern
matcher; each function runs with the ``Environment`` the template gives it (Globals merged,
intrinsics resolved for the demo's physical ids). A function added to the template (``remediate``)
is picked up without changing the demo.

The template is read and resolved by ``byok_emulator.sam_template`` (the loader and intrinsic
resolver the template tests use), so the demo routes exactly as those tests verified.
Handlers are imported from ``functions/<name>/app.py`` once per run (a cold start on first use,
warm afterwards, as a Lambda container) and invoked in this process with the function's
environment applied to ``os.environ`` for the duration of the call.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import os
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from byok_emulator.platform_side import LambdaContext

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"


def sam_template() -> types.ModuleType:
    """The template reader shared with the template tests and the local-invoke harness."""
    from byok_emulator import sam_template as module

    if not TEMPLATE.exists():
        raise RuntimeError(
            f"{TEMPLATE} is missing: `byok demo` runs from a source checkout of byok-guard "
            "(it deploys template.yaml, functions/ and customer/byok-keys.yaml)"
        )
    return module


@dataclass(frozen=True)
class Route:
    """One EventBridge rule of the template: which bus, which pattern, which function."""

    function: str  # folder name under functions/ (key_events, sweep, ...)
    rule: str  # the SAM event name (KmsApiCall, RdsClusterEvent, ...)
    bus: str  # bus name ("default" when the rule names none)
    pattern: Mapping[str, Any] | None  # None: a Schedule event
    schedule: str | None = None

    def matches(self, event: Mapping[str, Any], bus: str) -> bool:
        return self.pattern is not None and bus == self.bus and matches(self.pattern, event)


def matches(pattern: Mapping[str, Any] | str, event: Mapping[str, Any]) -> bool:
    """moto's EventBridge matcher, plus AWS's any-element matching inside ``detail.resources``.

    AWS (Event Ruler) matches a pattern field such as ``detail.resources.ARN`` against each
    object of the ``detail.resources`` array; moto's matcher does not descend into arrays of
    objects, so the event is also tried with each element in place of the array.
    """
    from moto.events.models import EventPattern

    compiled = EventPattern.load(pattern if isinstance(pattern, str) else json.dumps(pattern))
    if compiled.matches_event(event):
        return True
    detail = event.get("detail")
    resources = detail.get("resources") if isinstance(detail, Mapping) else None
    for element in resources if isinstance(resources, list) else []:
        projected = copy.deepcopy(dict(event))
        projected["detail"]["resources"] = element
        if compiled.matches_event(projected):
            return True
    return False


class PlatformApp:
    """The functions of ``template.yaml``, runnable in-process, and the rules that feed them."""

    def __init__(
        self,
        *,
        parameters: Mapping[str, str],
        refs: Mapping[str, Any],
        attrs: Mapping[tuple[str, str], Any],
        region: str,
        account: str,
        log: IO[str],
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        st = sam_template()
        self.template: dict[str, Any] = st.load(TEMPLATE)
        self.resolver = st.Resolver(
            self.template,
            dict(parameters),
            refs=dict(refs),
            attrs=dict(attrs),
            region=region,
            account=account,
            lenient=True,
        )
        self.specs = st.functions(self.template)
        self.region = region
        self.account = account
        self.log = log
        self.extra_env = dict(extra_env or {})
        self.routes = self._routes()
        self._modules: dict[str, types.ModuleType] = {}

    # --- template reading ------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        routes: list[Route] = []
        for spec in self.specs.values():
            function = self.template["Resources"][spec.logical_id]
            events = function.get("Properties", {}).get("Events", {}) or {}
            for name, source in events.items():
                props = self.resolver.resolve(source.get("Properties", {}))
                kind = source.get("Type")
                if kind == "EventBridgeRule":
                    bus = str(props.get("EventBusName") or "default")
                    routes.append(Route(spec.code_dir.name, name, bus, props["Pattern"]))
                elif kind == "Schedule":
                    routes.append(
                        Route(spec.code_dir.name, name, "default", None, props.get("Schedule"))
                    )
        return routes

    def environment(self, function: str) -> dict[str, str]:
        """The function's Environment from the template, resolved for the demo's resources."""
        spec = self.specs[function]
        env = {k: str(self.resolver.resolve(v)) for k, v in spec.environment.items()}
        return {**env, **self.extra_env, "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id}

    def has(self, function: str) -> bool:
        return function in self.specs

    def routes_for(self, event: Mapping[str, Any], bus: str) -> list[Route]:
        return [r for r in self.routes if r.matches(event, bus)]

    def scheduled(self) -> list[Route]:
        return [r for r in self.routes if r.schedule is not None]

    # --- invocation ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _as(self, function: str) -> Iterator[None]:
        """The function's environment in ``os.environ`` and its output in the log file."""
        wanted = self.environment(function)
        saved = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)
        try:
            with contextlib.redirect_stdout(self.log):
                yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _module(self, function: str) -> types.ModuleType:
        module = self._modules.get(function)
        if module is None:
            spec = self.specs[function]
            module_name, _, _ = spec.handler.rpartition(".")
            path = spec.code_dir / f"{module_name.replace('.', '/')}.py"
            # named "app" as in Lambda (Powertools idempotency keys include the module name);
            # not registered in sys.modules, so each function keeps its own module
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            assert loader_spec is not None and loader_spec.loader is not None
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)  # Powertools Logger binds the log file here
            self._modules[function] = module
        return module

    def warm(self) -> None:
        """Import every handler now (warm containers): steps then time the work, not imports."""
        for function in self.specs:
            with self._as(function):
                self._module(function)

    def invoke(self, function: str, event: Mapping[str, Any]) -> Any:
        """Run the function's handler on ``event`` as Lambda would (JSON in, JSON out)."""
        spec = self.specs[function]
        with self._as(function):
            module = self._module(function)
            handler = getattr(module, spec.handler.rpartition(".")[2])
            context = LambdaContext(
                spec.logical_id,
                spec.memory,
                invoked_function_arn=(
                    f"arn:aws:lambda:{self.region}:{self.account}:function:{spec.logical_id}"
                ),
                timeout_ms=spec.timeout * 1000,
            )
            result = handler(json.loads(json.dumps(event)), context)
        return json.loads(json.dumps(result, default=str))
