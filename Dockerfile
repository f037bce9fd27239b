# horde in a container: `docker build -t horde .` then `docker run --rm horde --help`.
# docs/kubernetes.md has the build, run and push commands and the manifests that use it.
#
# One stage is enough: every dependency (uvloop, httptools, greenlet, numpy,
# msgspec, pyzmq, psutil) has binary wheels for CPython 3.12 on amd64 and
# arm64, so no compiler is needed and nothing is left behind to strip.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# horde from this repository (what .dockerignore lets in: the package and
# what its build reads), installed into the image's Python, then the
# sources go: the image runs the installed package.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY horde ./horde
RUN pip install . && rm -rf /build

# A user without privileges, by number so Kubernetes' runAsNonRoot can check it.
RUN groupadd --gid 10001 horde \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin horde
USER 10001:10001
WORKDIR /home/horde

# Web UI, master port (workers connect here), --metrics-port as used in deploy/.
EXPOSE 8089 5557 9089

ENTRYPOINT ["horde"]
CMD ["--help"]
