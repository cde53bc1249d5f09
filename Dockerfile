# One image for the gateway, the workers and Flower.
FROM node:20-bookworm-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /app
RUN pip install uv==0.13.8
# The locked versions first (a layer that changes only with uv.lock), then the
# project itself into the same environment.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY common/ common/
COPY gateway/ gateway/
COPY workers/ workers/
RUN uv sync --frozen --no-dev --no-editable
ENV PATH=/app/.venv/bin:$PATH
COPY celeryconfig.py flowerconfig.py alembic.ini ./
COPY migrations/ migrations/
COPY --from=frontend /app/frontend/dist frontend/dist
RUN useradd --create-home partpulse && mkdir -p var && chown partpulse var
USER partpulse
EXPOSE 8000
CMD ["uvicorn", "gateway.main:app", "--host", "0.0.0.0", "--port", "8000", "--http", "gateway.http_protocol:GatewayHttpProtocol", "--ws-per-message-deflate", "false"]
