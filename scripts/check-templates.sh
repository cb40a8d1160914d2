#!/usr/bin/env bash
# Lint every CloudFormation / SAM template and build the SAM app (called by `make check`).
set -euo pipefail
cd "$(dirname "$0")/.."
SAM=.venv-tools/sam/bin/sam
export SAM_CLI_TELEMETRY=0

templates=(customer/*.yaml)
[ -f template.yaml ] && templates+=(template.yaml)
for t in "${templates[@]}"; do
  [ -f "$t" ] || continue
  echo "cfn-lint $t"
  .venv/bin/cfn-lint "$t"
done

if [ -f template.yaml ]; then
  echo "sam validate --lint"
  "$SAM" validate --lint --template template.yaml --region us-east-1
fi
