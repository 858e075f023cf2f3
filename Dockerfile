# Build stage: compiles better-sqlite3 and the TypeScript sources.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY migrations ./migrations
RUN npm ci && npm prune --omit=dev

# Runtime stage: compiled JS, production dependencies, migrations and the dashboard's static files.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8787 DATABASE_PATH=/app/data/gateway.db
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
# The dashboard's static files are read at run time (no build step).
COPY public ./public
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8787
# exec form so SIGTERM reaches node and the graceful drain runs
CMD ["node", "dist/main.js"]
