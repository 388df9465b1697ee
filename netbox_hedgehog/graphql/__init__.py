"""GraphQL types and queries of the plugin, merged into NetBox's schema through ``graphql_schema``."""
