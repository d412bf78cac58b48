"""The shared store: SQLAlchemy models, the database connection and migrations."""
