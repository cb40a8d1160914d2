"""Run a function of template.yaml the way ``sam local invoke`` does, without Docker.

``sam local invoke`` starts a container with the function's code at ``/var/task``, its layers
under ``/opt``, the template's Environment plus the ``AWS_LAMBDA_*`` variables, and the Lambda
Runtime Interface Emulator (RIE) in front of the runtime; then it POSTs the event to the RIE. Here
the same RIE binary (shipped inside the aws-sam-cli wheel, ``samcli/local/rapid``) runs on the host
in front of ``python -m awslambdaric <Handler>``, with ``LAMBDA_TASK_ROOT`` = the CodeUri and
``PYTHONPATH`` = CodeUri + layer ContentUris. Everything the function needs comes from the
template (``sam_template.function_spec``); only the physical ids (table names, queue URL) and the
endpoint of the AWS emulator are supplied by the caller.

The RIE is always started with ``--runtime-interface-emulator-address 127.0.0.1:<port>`` and a
command (without them it listens on 0.0.0.0:8080 and waits forever) and with
``--runtime-api-address 127.0.0.1:<port>`` (its default 127.0.0.1:9001 allows one RIE per machine),
in its own process group, and stopped by that id.

    spec = sam_template.function_spec(sam_template.load(), "KeyEventsFunction")
    with LocalFunction(spec, env) as fn:
        result = fn.invoke(event)      # Invocation(payload=..., error=None)
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from byok_emulator import sam_template
from byok_emulator.platform_side import LambdaContext

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def rie_binary(root: Path = sam_template.ROOT) -> Path:
    """The RIE of the aws-sam-cli wheel for this machine's architecture."""
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower()
    )
    if arch is None:
        raise RuntimeError(f"no Lambda RIE build for machine {platform.machine()!r}")
    found = sorted(
        (root / ".venv-tools" / "sam").glob(
            f"lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-{arch}"
        )
    )
    if not found:
        raise RuntimeError(
            "aws-lambda-rie not found under .venv-tools/sam (it ships in the aws-sam-cli wheel): "
            "run `make tools-sam`"
        )
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Invocation:
    """One response: the function's JSON result, or the error the runtime reported."""

    payload: Any
    error: dict[str, Any] | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


def lambda_environment(
    spec: sam_template.FunctionSpec,
    resolver: sam_template.Resolver,
    *,
    endpoint_url: str,
    credentials: Mapping[str, str],
    region: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment ``sam local invoke`` gives the function (template Environment resolved,
    AWS_LAMBDA_* variables, credentials), pointed at the AWS emulator."""
    env = {name: str(resolver.resolve(value)) for name, value in spec.environment.items()}
    env.update(
        {
            "AWS_SAM_LOCAL": "true",
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
            "AWS_LAMBDA_FUNCTION_HANDLER": spec.handler,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": endpoint_url,
            # no X-Ray daemon locally (sam local invoke users set the same in --env-vars)
            "POWERTOOLS_TRACE_DISABLED": "true",
            **credentials,
        }
    )
    env.update(extra or {})
    return env


class LocalFunction:
    """One warm "container": an RIE process serving one function until ``stop()``."""

    def __init__(
        self,
        spec: sam_template.FunctionSpec,
        environment: Mapping[str, str],
        *,
        python: str = sys.executable,
        startup_timeout: float = 15.0,
    ) -> None:
        self.spec = spec
        self.environment = dict(environment)
        self.python = python
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        # closed in close(): the log outlives start/stop so a test can read it after a failure
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"rie-{spec.logical_id}-", suffix=".log"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"

    def start(self) -> LocalFunction:
        if self.process is not None:
            return self
        self.port = free_port()
        runtime_api_port = free_port()
        task_root = str(self.spec.code_dir)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "LAMBDA_TASK_ROOT": task_root,
            "PYTHONPATH": os.pathsep.join([task_root, *map(str, self.spec.layer_dirs)]),
            "PYTHONDONTWRITEBYTECODE": "1",
            **self.environment,
        }
        command = [
            str(rie_binary()),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            # the runtime API (RIE <-> awslambdaric) defaults to 127.0.0.1:9001: a free port
            # instead, so that several functions (or test runs) can be up at once
            "--runtime-api-address",
            f"127.0.0.1:{runtime_api_port}",
            self.python,
            "-m",
            "awslambdaric",
            self.spec.handler,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=task_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() ends the RIE and the runtime
        )
        self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"RIE exited with {self.process.returncode}:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"RIE did not listen on 127.0.0.1:{self.port}:\n{self.logs()}")

    def invoke(self, event: Any) -> Invocation:
        """POST the event like ``sam local invoke`` and decode the answer."""
        self.start()
        body = json.dumps(event).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.spec.timeout + 30) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:  # the RIE answers 5xx when the runtime dies
            raw = exc.read()
        seconds = time.monotonic() - started
        payload = json.loads(raw) if raw else None
        if isinstance(payload, dict) and {"errorMessage", "errorType"} <= payload.keys():
            return Invocation(payload=None, error=payload, seconds=seconds)
        return Invocation(payload=payload, error=None, seconds=seconds)

    def logs(self) -> str:
        """Everything the RIE and the function printed (Powertools JSON logs, EMF metrics)."""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)  # the group this object started, by its id
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def close(self) -> None:
        self.stop()
        self._log.close()

    def __enter__(self) -> LocalFunction:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- in-process invoker (faster unit tests of the handlers) ------------------------------------


def load_handler_module(spec: sam_template.FunctionSpec) -> Any:
    """A fresh import of the function's module (a cold start): nothing cached from before."""
    import importlib.util

    module_name, _, _ = spec.handler.rpartition(".")
    path = spec.code_dir / f"{module_name.replace('.', '/')}.py"
    # named as in Lambda ("app"): Powertools idempotency keys include the module name; not put
    # in sys.modules, so every function (and every load) stays separate
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return module


def invoke_in_process(module: Any, spec: sam_template.FunctionSpec, event: Any) -> Any:
    """Call the handler of an already loaded module (set its environment first)."""
    handler = getattr(module, spec.handler.rpartition(".")[2])
    context = LambdaContext(
        spec.logical_id,
        spec.memory,
        invoked_function_arn=f"arn:aws:lambda:eu-west-1:444455556666:function:{spec.logical_id}",
        timeout_ms=spec.timeout * 1000,
    )
    return json.loads(json.dumps(handler(event, context)))
