// Runs the GraphQL-over-HTTP audit suite against a server and prints one JSON line
// per audit: {id, name, status, reason}. Usage: node audit.mjs http://host:port/graphql
import { auditServer } from "graphql-http";

const url = process.argv[2];
const results = await auditServer({ url });
for (const result of results) {
  console.log(
    JSON.stringify({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.status === "ok" ? undefined : result.reason,
    }),
  );
}
