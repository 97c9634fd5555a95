# One image for the API, the worker and the one-shot migration.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY alembic.ini ./
COPY migrations ./migrations
COPY shared ./shared
COPY services ./services
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH" API_HOST=0.0.0.0 API_PORT=8000
RUN useradd --system --uid 10001 tandem
USER tandem
EXPOSE 8000
CMD ["python", "-m", "services.api"]
