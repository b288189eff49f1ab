# syntax=docker/dockerfile:1
# bb-reaper: one image for every command (worker, ui, simulator, close, sweep, ...).
#   docker build -t bb-reaper .
#   docker run --rm bb-reaper --help

# --- build: compile TypeScript with the dev dependencies -------------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# --- runtime: production dependencies and the compiled code only, as a non-root user ----------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# `node` (uid 1000) ships with the official image; nothing here needs root.
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["worker"]
