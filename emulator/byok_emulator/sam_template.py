"""``template.yaml`` as data, for the template tests and the local-invoke harness.

Why here (in ``byok_emulator``, beside the demo, not in the Lambda layer): the template tests,
the local-invoke harness and ``byok demo`` must all read the template the way AWS does
(CloudFormation tags such as ``!Ref``/``!GetAtt``, SAM Globals merged into each function, conditions
evaluated for given parameter values), and neither may keep its own copy of that logic.

- ``load()``: the template through cfn-lint's YAML loader (knows the short-form tags), as plain
  dicts with long-form intrinsics (``{"Ref": ...}``).
- ``transformed(parameters)``: the template after the AWS SAM transform (the resources
  CloudFormation would create: rules, permissions, event source mappings), computed by
  aws-sam-translator in the SAM CLI's own environment (``.venv-tools/sam``: it pins versions the
  project's .venv cannot hold).
- ``Resolver``: evaluates intrinsics for given parameters and physical ids.
- ``function_spec()``: a function's Handler, CodeUri, Layers, Environment with Globals merged.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_PYTHON = ROOT / ".venv-tools" / "sam" / "bin" / "python"

#: removed from the enclosing dict/list, as CloudFormation does with ``Ref: AWS::NoValue``
NO_VALUE = object()


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain JSON data (cfn-lint's loader understands the CloudFormation tags)."""
    from cfnlint.decode import decode

    template, errors = decode(str(path))
    if errors or template is None:
        raise ValueError(f"{path}: cannot be parsed: {[str(e) for e in errors or []]}")
    return json.loads(json.dumps(template))


_TRANSFORM = r"""
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:  # the template uses explicit roles; nothing to look up in IAM
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template.get("Resources", {}).values():
    props = resource.get("Properties") or {}
    for name in ("CodeUri", "ContentUri"):  # local paths: what `sam package` would upload
        if isinstance(props.get(name), str):
            props[name] = "s3://local-build/" + props[name]
json.dump(transform(template, json.loads(sys.argv[2]), NoManagedPolicies()), sys.stdout)
"""


def transformed(parameters: Mapping[str, str], path: Path = TEMPLATE) -> dict[str, Any]:
    """The template after the AWS::Serverless transform (needs ``make tools-sam``)."""
    return json.loads(_transformed(str(path), json.dumps(dict(parameters), sort_keys=True)))


@cache
def _transformed(path: str, parameters: str) -> str:
    if not SAM_PYTHON.exists():
        raise RuntimeError(
            f"{SAM_PYTHON} is missing: the SAM transform runs in the SAM CLI environment; "
            "create it with `make tools-sam`"
        )
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")}
    done = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSFORM, path, parameters],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"SAM transform of {path} failed:\n{done.stderr[-3000:]}")
    return done.stdout


@dataclass
class Resolver:
    """Evaluates CloudFormation intrinsics the way a deployment with these values would.

    ``refs`` maps a resource's logical id to what ``Ref`` returns (table name, queue URL...);
    ``attrs`` maps ``(logical id, attribute)`` to what ``Fn::GetAtt`` returns. Parameters not
    given take the template's ``Default``. Anything unknown raises ``KeyError`` naming it.
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, str] = field(default_factory=dict)
    refs: Mapping[str, Any] = field(default_factory=dict)
    attrs: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    region: str = "eu-west-1"
    account: str = "444455556666"
    stack_name: str = "byok-guard"
    #: unknown Ref / GetAtt give a placeholder ("<Ref X>", "<X.Arn>") instead of raising
    lenient: bool = False

    def parameter(self, name: str) -> Any:
        spec = self.template.get("Parameters", {}).get(name)
        if spec is None:
            raise KeyError(f"Parameters.{name}: not in the template")
        if name in self.parameters:
            value: Any = str(self.parameters[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise KeyError(f"Parameters.{name}: no value given and no Default")
        if spec.get("Type") == "CommaDelimitedList":
            return value.split(",") if value else [""]
        return value

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise KeyError(f"Conditions.{name}: not in the template")
        return bool(self.resolve(conditions[name]))

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic evaluated; ``AWS::NoValue`` entries dropped."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, arg),) = value.items()
            fn = _INTRINSICS.get(name)
            if fn is not None:
                return fn(self, arg)
        items = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not NO_VALUE}

    # --- intrinsics -------------------------------------------------------------------------
    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::NoValue": NO_VALUE,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.refs:
            return self.refs[name]
        if self.lenient:
            return f"<Ref {name}>"
        raise KeyError(f"Ref {name}: no physical id given to the resolver")

    def _get_att(self, arg: Any) -> Any:
        logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        if (logical, attribute) in self.attrs:
            return self.attrs[(logical, attribute)]
        if self.lenient:
            return f"<{logical}.{attribute}>"
        raise KeyError(f"Fn::GetAtt {logical}.{attribute}: no value given to the resolver")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        local = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.template.get("Resources", {}):
                return str(self._get_att(name))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)


_INTRINSICS: dict[str, Any] = {
    "Ref": lambda r, a: r._ref(a),
    "Fn::GetAtt": lambda r, a: r._get_att(a),
    "Fn::Sub": lambda r, a: r._sub(a),
    "Fn::If": lambda r, a: r._if(a),
    "Fn::Split": lambda r, a: str(r.resolve(a[1])).split(a[0]),
    "Fn::Join": lambda r, a: a[0].join(str(v) for v in r.resolve(a[1])),
    "Fn::Select": lambda r, a: r.resolve(a[1])[int(r.resolve(a[0]))],
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(v) for v in a),
    "Fn::Or": lambda r, a: any(r.resolve(v) for v in a),
    "Condition": lambda r, a: r.condition(a),
}


@dataclass(frozen=True)
class FunctionSpec:
    """What ``sam local invoke`` reads of one function (Globals merged in)."""

    logical_id: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, Any]  # unresolved: values may be intrinsics


def function_spec(template: Mapping[str, Any], logical_id: str) -> FunctionSpec:
    resources = template["Resources"]
    function = resources.get(logical_id)
    if function is None or function.get("Type") != "AWS::Serverless::Function":
        raise KeyError(f"Resources.{logical_id}: not an AWS::Serverless::Function")
    globals_ = template.get("Globals", {}).get("Function", {})
    props = {**globals_, **function.get("Properties", {})}
    environment = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **function.get("Properties", {}).get("Environment", {}).get("Variables", {}),
    }
    layers = []
    for layer in props.get("Layers", []):
        name = layer.get("Ref") if isinstance(layer, dict) else None
        if name is None or resources.get(name, {}).get("Type") != "AWS::Serverless::LayerVersion":
            raise KeyError(f"{logical_id}.Layers: {layer!r} is not a layer of this template")
        layers.append(ROOT / resources[name]["Properties"]["ContentUri"])
    return FunctionSpec(
        logical_id=logical_id,
        handler=props["Handler"],
        runtime=props["Runtime"],
        timeout=int(props.get("Timeout", 3)),
        memory=int(props.get("MemorySize", 128)),
        code_dir=ROOT / props["CodeUri"],
        layer_dirs=tuple(layers),
        environment=environment,
    )


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Every function of the template by the folder name of its code (``key_events``...)."""
    specs = [
        function_spec(template, name)
        for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::Serverless::Function"
    ]
    return {spec.code_dir.name: spec for spec in specs}


@dataclass(frozen=True)
class RoleSpec:
    """One IAM role of a (transformed) template as CloudFormation would create it."""

    logical_id: str
    path: str
    trust: Mapping[str, Any]
    policies: Mapping[str, Mapping[str, Any]]  # inline policy name -> document


def role_spec(template: Mapping[str, Any], logical_id: str, resolver: Resolver) -> RoleSpec:
    """The role ``logical_id`` with every intrinsic resolved (raises ``KeyError`` on unknowns)."""
    resource = template["Resources"][logical_id]
    if resource.get("Type") != "AWS::IAM::Role":
        raise KeyError(f"Resources.{logical_id}: not an AWS::IAM::Role")
    props = resolver.resolve(resource["Properties"])
    if props.get("ManagedPolicyArns") or props.get("PermissionsBoundary"):
        raise KeyError(f"{logical_id}: managed policies / boundaries are not modelled here")
    return RoleSpec(
        logical_id=logical_id,
        path=str(props.get("Path", "/")),
        trust=props["AssumeRolePolicyDocument"],
        policies={p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])},
    )


def function_roles(template: Mapping[str, Any], resolver: Resolver) -> dict[str, RoleSpec]:
    """Each function's role by the folder name of its code (``key_events``...), from the
    SAM-transformed template (``transformed()``: functions are ``AWS::Lambda::Function``)."""
    out: dict[str, RoleSpec] = {}
    for name, res in template["Resources"].items():
        if res.get("Type") != "AWS::Lambda::Function":
            continue
        role = res["Properties"]["Role"]
        if not (isinstance(role, Mapping) and "Fn::GetAtt" in role):
            raise KeyError(f"{name}: its Role is not a role of this template")
        logical = (
            role["Fn::GetAtt"][0]
            if isinstance(role["Fn::GetAtt"], list)
            else role["Fn::GetAtt"].split(".")[0]
        )
        folder = str(res["Properties"]["Code"]["S3Key"]).rstrip("/").rsplit("/", 1)[-1]
        out[folder] = role_spec(template, logical, resolver)
    return out
