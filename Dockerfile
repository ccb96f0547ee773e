# The api-mcp-test GitHub Action: a Python 3.12 image with git, uv and the runner in its own venv.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/runner

# The base tag fixes the Debian release; git comes from its security-updated archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

# The action runs as root; the code under test (installs, setup, the app) and the MCP server run
# as `apitest`, which cannot read the runner's environment (the token, the API key). Environments
# are cached where it may build them.
RUN useradd --system --create-home --home-dir /home/apitest --shell /usr/sbin/nologin apitest \
    && install -d -m 0755 /var/cache/api-mcp-test

# uv to install with (the version uv.lock holds; tests/test_packaging.py checks they agree).
RUN pip install --no-cache-dir "uv==0.13.9"

# The dependencies exactly as uv.lock pins them, in a layer of their own: a change to the code
# below does not reinstall them. Not compiled to bytecode: the action builds this image in every
# job, and compiling all of it (~31 s of CPU) costs more than the imports it would save (~4 s of
# CPU per process).
WORKDIR /app
COPY pyproject.toml uv.lock /app/
RUN uv sync --frozen --no-install-project --python /usr/local/bin/python3

# The runner itself, into the same environment (a regular install, not a link to /app).
COPY README.md /app/
COPY runner /app/runner
RUN uv sync --frozen --no-editable --python /usr/local/bin/python3

COPY entrypoint.py /app/entrypoint.py
ENV PATH=/opt/runner/bin:$PATH \
    API_MCP_TEST_SANDBOX_USER=apitest \
    API_MCP_TEST_CACHE=/var/cache/api-mcp-test
# `docker run -v "$PWD:/repo" IMAGE` tests /repo and writes /repo/api-mcp-test-report; the Actions
# runner sets its own workdir (/github/workspace).
WORKDIR /repo

ENTRYPOINT ["/opt/runner/bin/python", "/app/entrypoint.py"]
