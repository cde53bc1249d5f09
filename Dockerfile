# One image for the gateway, the workers and Flower.
FROM node:20-bookworm-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY common/ common/
COPY gateway/ gateway/
COPY workers/ workers/
RUN pip install .
COPY celeryconfig.py flowerconfig.py alembic.ini ./
COPY migrations/ migrations/
COPY --from=frontend /app/frontend/dist frontend/dist
RUN useradd --create-home partpulse && mkdir -p var && chown partpulse var
USER partpulse
EXPOSE 8000
CMD ["uvicorn", "gateway.main:app", "--host", "0.0.0.0", "--port", "8000", "--ws-per-message-deflate", "false"]
