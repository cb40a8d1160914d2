// Decide a batch of requests with @cloud-copilot/iam-simulate, by the resource (key) policy
// alone: reads a JSON list of {policy, principal, action, resource, account, context} on stdin,
// writes a JSON list of {result, ignored} per request: the resource analysis result (Allowed,
// AllowedForAccount, ExplicitlyDenied, ImplicitlyDenied, NotApplicable, ...) and the context keys
// it dropped because the action does not carry them; or {"error": ...}.
import { runSimulation } from '@cloud-copilot/iam-simulate';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const batch = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const out = [];
for (const r of batch) {
  try {
    const result = await runSimulation(
      {
        request: {
          principal: r.principal,
          action: r.action,
          resource: { resource: r.resource, accountId: r.account },
          contextVariables: r.context,
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: r.policy,
      },
      {},
    );
    if (result.resultType === 'error') {
      out.push({ error: result.errors.message || 'error' });
    } else {
      out.push({
        result: result.result.analysis.resourceAnalysis?.result ?? 'NotApplicable',
        ignored: result.result.ignoredContextKeys ?? [],
      });
    }
  } catch (e) {
    out.push({ error: String(e && e.message ? e.message : e) });
  }
}
process.stdout.write(JSON.stringify(out));
