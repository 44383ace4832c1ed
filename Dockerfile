# The fleet service: one image for the web processes, the maintenance job and the
# simulator. Shapely, pyproj and pyogrio come as wheels with their own GEOS/PROJ/GDAL,
# so the slim base needs no system libraries.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 fleet
WORKDIR /app

COPY pyproject.toml README.md ./
COPY fleet ./fleet
COPY routes_data ./routes_data
COPY static ./static
# Editable, so the app finds static/ and routes_data/ beside the package as in a checkout.
RUN pip install -e ".[prod]" gevent gevent-websocket \
    && mkdir -p /app/instance /archive && chown fleet /app/instance /archive

USER fleet
EXPOSE 5000 5055
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/api/v1/config', timeout=2)"
CMD ["fleet", "serve", "--host", "0.0.0.0", "--port", "5000", "--osmand-port", "5055", "--no-load"]
