// Apollo Client with its PersistedQueryLink against a server: two clients run the same
// query. Prints one JSON object: what each client got, and every request that went out.
// Usage: node apollo_persisted_query.mjs http://host:port/graphql NONCE
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";

const [url, nonce] = process.argv.slice(2);
const requests = [];

async function recordingFetch(input, init) {
  const body = JSON.parse(init.body);
  const response = await fetch(input, init);
  requests.push({
    withQuery: typeof body.query === "string",
    hash: body.extensions?.persistedQuery?.sha256Hash ?? null,
    status: response.status,
  });
  return response;
}

function client() {
  const persisted = createPersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text).digest("hex"),
  });
  return new ApolloClient({
    link: persisted.concat(new HttpLink({ uri: url, fetch: recordingFetch })),
    cache: new InMemoryCache(),
  });
}

const query = gql(`query Vaccines { vaccines { code name_${nonce}: name } }`);
const first = await client().query({ query, fetchPolicy: "network-only" });
const second = await client().query({ query, fetchPolicy: "network-only" });
console.log(JSON.stringify({ first: first.data, second: second.data, requests }));
