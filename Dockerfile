# Production image: gunicorn serving the factory, the console and the tenant CRMs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    FACTORY_APPS_DIR=/app/var/tenant_apps

WORKDIR /app
RUN useradd --create-home --uid 1000 crm

COPY pyproject.toml README.md ./
COPY config ./config
COPY crm ./crm
COPY factory ./factory
COPY prompts ./prompts
COPY evals ./evals
COPY bench ./bench
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var/run && chown -R crm:crm /app/var

USER crm
EXPOSE 8000
# No --preload: a HUP makes gunicorn start fresh workers that import the newly deployed
# tenant code (see docs/tenants.md).
CMD ["gunicorn", "config.wsgi", "--config", "config/gunicorn.conf.py"]
