# CPU worker: runs both task queues by default. Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t patchwork-worker .
FROM node:20-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip build-essential \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY scripts/setup-tfjs scripts/setup-tfjs
RUN python3 -m venv .tools/venv && bash scripts/setup-tfjs

COPY tsconfig.json ./
COPY config config
COPY contracts contracts
COPY storage storage
COPY workflows workflows
COPY activities activities
COPY worker worker
COPY ml ml
COPY tensorboard-format tensorboard-format
COPY tracker-client tracker-client

ENV PATCHWORK_HOME=/data \
    TEMPORAL_ADDRESS=temporal:7233 \
    PATCHWORK_TRACKER_URL=http://tracker:8787
VOLUME /data
CMD ["node", "--import", "tsx", "worker/main.ts", "--queue", "all"]
