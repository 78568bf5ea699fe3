# GPU worker: tfjs-node-gpu built against the CUDA TensorFlow 2.21 wheel (scripts/setup-tfjs with PATCHWORK_GPU=1).
# It serves only the compute queue; one activity per GPU (PATCHWORK_GPU_CONCURRENCY).
#   docker build -f docker/worker-gpu.Dockerfile -t patchwork-worker-gpu .
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg python3 python3-venv python3-pip build-essential \
 && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
 && npm install --no-save --ignore-scripts @tensorflow/tfjs-node-gpu@4.22.0

COPY scripts/setup-tfjs scripts/setup-tfjs
RUN python3 -m venv .tools/venv-gpu && PATCHWORK_GPU=1 bash scripts/setup-tfjs

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
    PATCHWORK_BACKEND=tensorflow-gpu \
    PATCHWORK_GPU_CONCURRENCY=1 \
    TEMPORAL_ADDRESS=temporal:7233 \
    PATCHWORK_TRACKER_URL=http://tracker:8787
VOLUME /data
CMD ["node", "--import", "tsx", "worker/main.ts", "--queue", "patchwork-gpu"]
