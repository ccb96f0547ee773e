"""The project's own configuration file: `.api-mcp-test.yml` (or `[tool.api-mcp-test]` in
pyproject.toml) in the folder being tested, and its env files.

- `schema`: the published JSON Schema (`api-mcp-test.schema.json`) and the messages it gives;
- `files`: reading the config and env files inside the run's copy;
- `keys`: one converter per key, into `RunConfig` fields;
- `build`: defaults < file < explicit inputs (flags, action inputs, API keywords), into one
  `RunConfig`;
- `select`: the operations `include` / `exclude` select.
"""

from runner.config.build import apply_project_config, build_config, grant_references
from runner.config.files import CONFIG_FILES, read_env_file, read_project_config
from runner.config.keys import clean_install, parse_operation
from runner.config.select import matches, parse_selector, select_operations

__all__ = ["CONFIG_FILES", "apply_project_config", "build_config", "clean_install", "grant_references",
           "matches", "parse_operation", "parse_selector", "read_env_file",
           "read_project_config", "select_operations"]
