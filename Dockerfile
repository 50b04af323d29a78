# The KCL consumer image: the official KCL MultiLangDaemon (Java) running fleetstream's record processor
# (consumers/runtimes/multilang/main.ts, bundled into one file) as its child process.
# Built by `cdk deploy` (ContainerImage.fromAsset in infra/constructs/stream-consumers.ts).

FROM public.ecr.aws/docker/library/node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing the consumer runs needs a native build (leveldown is for local tooling only).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY consumers ./consumers
COPY anomaly ./anomaly
COPY models ./models
RUN npx esbuild consumers/runtimes/multilang/main.ts --bundle --platform=node --format=esm --target=node20 \
      --sourcemap --outfile=dist/multilang.mjs \
      "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
# Fetch the daemon's jars (versions pinned by aws-kcl's pom.xml) at build time, so a starting task never
# depends on Maven Central. Without -e the bootstrap only downloads and prints the java command.
RUN mkdir -p /opt/kcl/jars \
 && echo "executableName = unused" > /tmp/bootstrap.properties \
 && node node_modules/aws-kcl/bin/kcl-bootstrap -p /tmp/bootstrap.properties --java "$(command -v node)" -c /opt/kcl/jars

FROM public.ecr.aws/docker/library/node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /opt/kcl/jars /opt/kcl/jars
COPY --from=build /src/dist/ /app/
COPY --from=build /src/consumers/runtimes/multilang/ /app/templates/
COPY infra/container/kcl-entrypoint.mjs infra/container/kcl-properties.mjs /app/
ENV NODE_OPTIONS=--enable-source-maps
USER node
ENTRYPOINT ["node", "/app/kcl-entrypoint.mjs"]
