# One image for every Wirewatch process (worker, notifier, producer, CLI).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY ingest ./ingest
COPY streams ./streams
COPY alerts ./alerts
COPY wirewatch ./wirewatch
RUN pip install --no-cache-dir .
COPY seeds ./seeds
RUN useradd --create-home wirewatch
USER wirewatch
ENTRYPOINT ["wirewatch"]
CMD ["--help"]
