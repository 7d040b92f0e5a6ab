# healthgraph: the GraphQL API over the immunization, testing and core stores.

# GraphiQL's browser assets, from the npm registry and its lock file (served by the app).
FROM node:20-slim AS graphiql
WORKDIR /graphiql
COPY graphiql/package.json graphiql/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim

# Behind a load balancer, the client's address comes from its X-Forwarded-For, which
# is believed only from these networks (the private ranges a load balancer in front of
# a container normally has). Set it to the balancer's own addresses where they are
# known, or to nothing when clients reach the container directly.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HEALTHGRAPH_DATA_DIR=/app/data \
    HEALTHGRAPH_GRAPHIQL_ASSETS_DIR=/app/graphiql/node_modules \
    HEALTHGRAPH_TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16

# Posters render to PNG and PDF through libcairo, with a font that has Vietnamese.
RUN apt-get update && apt-get install -y --no-install-recommends libcairo2 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system healthgraph && useradd --system --gid healthgraph --home /app healthgraph

WORKDIR /app
COPY pyproject.toml README.md requirements.txt ./
COPY api ./api
COPY models ./models
COPY demo ./demo
COPY auth ./auth
COPY migrations ./migrations
COPY schema.graphql ./
COPY --from=graphiql /graphiql/node_modules ./graphiql/node_modules
# The same install as the README's, without the test tools: the locked versions, then the
# project itself.
RUN python -m pip install --require-hashes -r requirements.txt \
    && python -m pip install --no-deps .
RUN mkdir -p /app/data && chown healthgraph:healthgraph /app/data

USER healthgraph
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
CMD ["healthgraph", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
