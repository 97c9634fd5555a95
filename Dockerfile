# syntax=docker/dockerfile:1.7
# One image for the API, the worker and the one-shot migration (compose.yaml builds it once).
# Build stage: uv installs the locked runtime dependencies (no dev group, no embedded
# servers) with its download cache kept between builds.
FROM python:3.12-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY pyproject.toml uv.lock README.md alembic.ini ./
COPY migrations ./migrations
COPY shared ./shared
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev

# Runtime stage: the virtual environment and the code, no uv, no build cache.
FROM python:3.12-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/app/.venv/bin:$PATH" \
    API_HOST=0.0.0.0 API_PORT=8000 WORKER_METRICS_HOST=0.0.0.0 WORKER_METRICS_PORT=9101
RUN useradd --system --uid 10001 tandem
WORKDIR /app
COPY --from=build /app /app
USER tandem
EXPOSE 8000 9101
CMD ["python", "-m", "services.api"]
