# Madoguchi web / worker / beat image (one image, three commands; see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=madoguchi.settings.production

RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont fonts-ipamj-mincho \
        nodejs npm postgresql-client curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml .ci/constraints.txt ./
RUN mkdir -p .ci && mv constraints.txt .ci/ && pip install --no-cache-dir -c .ci/constraints.txt \
        "Django>=5.2,<5.3" "django-tenants==4.0.1" "psycopg[binary]" djangorestframework drf-spectacular \
        drf-spectacular-sidecar "celery[redis]" tenant-schemas-celery redis weasyprint cryptography whitenoise gunicorn boto3
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# collectstatic needs settings but no secrets of the deployment: use throw-away values at build time only.
RUN DJANGO_SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=') \
    MADOGUCHI_KEK=$(head -c 32 /dev/urandom | base64) MADOGUCHI_AUDIT_SIGNING_KEY=$(head -c 32 /dev/urandom | base64) \
    python manage.py collectstatic --noinput -v 0

RUN useradd --system --uid 10001 madoguchi && chown -R madoguchi /app
USER madoguchi
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["gunicorn", "madoguchi.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
