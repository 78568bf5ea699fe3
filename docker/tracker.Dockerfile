# Tracker: HTTP API for workers, TensorBoard event files, run registry and labeling pages.
#   docker build -f docker/tracker.Dockerfile -t patchwork-tracker .
FROM node:20-bookworm-slim

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev

COPY tsconfig.json ./
COPY config config
COPY contracts contracts
COPY storage storage
COPY ml ml
COPY tensorboard-format tensorboard-format
COPY tracker tracker
COPY ui ui

ENV PATCHWORK_HOME=/data
VOLUME /data
EXPOSE 8787
CMD ["node", "--import", "tsx", "tracker/main.ts", "--port", "8787", "--host", "0.0.0.0"]
