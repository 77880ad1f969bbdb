"""The store: tables, migrations, the workspace-scoped repository and the batch writer."""
