#!/usr/bin/env bash
# Lint every CloudFormation / SAM template and build the SAM app (called by `make check`).
#   cfn-lint on customer/*.yaml, platform/*.yaml and template.yaml, `sam validate --lint`, `sam build`.
# `sam build` (no container) needs the functions' runtime on PATH: python3.13 (template.yaml
# Globals). It is looked up as `python3.13`, then through pyenv; if neither has it, the script
# fails and says how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."
SAM=.venv-tools/sam/bin/sam
RUNTIME=3.13
export SAM_CLI_TELEMETRY=0

templates=(customer/*.yaml platform/*.yaml)
[ -f template.yaml ] && templates+=(template.yaml)
for t in "${templates[@]}"; do
  [ -f "$t" ] || continue
  echo "cfn-lint $t"
  .venv/bin/cfn-lint "$t"
done

[ -f template.yaml ] || exit 0

echo "sam validate --lint"
"$SAM" validate --lint --template template.yaml --region us-east-1

# Find a directory holding a working python$RUNTIME (a pyenv shim that is not selected fails).
find_runtime_bin() {
  if command -v "python$RUNTIME" >/dev/null 2>&1 && "python$RUNTIME" -c 'pass' 2>/dev/null; then
    dirname "$(command -v "python$RUNTIME")"
    return 0
  fi
  if command -v pyenv >/dev/null 2>&1; then
    local v prefix
    for v in "$RUNTIME" $(pyenv versions --bare 2>/dev/null | grep -E "^${RUNTIME//./\\.}(\.[0-9]+)?$" | sort -rV); do
      prefix=$(pyenv prefix "$v" 2>/dev/null) || continue
      if [ -x "$prefix/bin/python$RUNTIME" ]; then
        echo "$prefix/bin"
        return 0
      fi
    done
  fi
  return 1
}

if ! runtime_bin=$(find_runtime_bin); then
  cat >&2 <<EOF
check-templates: sam build needs Python $RUNTIME (the Lambda runtime python$RUNTIME of
template.yaml) and none was found: no working 'python$RUNTIME' on PATH and no pyenv version $RUNTIME.x.
Install it, e.g. 'pyenv install $RUNTIME' (or your OS package python$RUNTIME), or build in a
container with Docker: '$SAM build --use-container'.
EOF
  exit 1
fi

echo "sam build (python$RUNTIME from $runtime_bin)"
PATH="$runtime_bin:$PATH" "$SAM" build --template template.yaml --build-dir .aws-sam/build \
  --cached --cache-dir .aws-sam/cache
