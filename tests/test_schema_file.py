"""schema.graphql at the repository root is the schema the service serves."""

from api.schema_export import schema_text


def test_schema_file_is_up_to_date(repo_root):
    on_disk = (repo_root / "schema.graphql").read_text()

    assert on_disk == schema_text(), "schema.graphql is stale: run `healthgraph export-schema`"
