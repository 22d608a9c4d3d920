# Production image: gunicorn + whitenoise for web; the same image runs the worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libcairo2 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
RUN pip install --no-cache-dir -e . 2>/dev/null || true
COPY . .
RUN pip install --no-cache-dir -e . \
    && SECRET_KEY=build-only FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE= \
       DEBUG=0 python manage.py collectstatic --noinput \
    && useradd --system --home /app app && mkdir -p /data/media /data/beat && chown -R app /data
USER app
EXPOSE 8000
CMD ["gunicorn", "supportdesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
