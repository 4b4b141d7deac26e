"""Database migrations (stub: being written)."""
import click


@click.group()
def db():
    """Database schema: upgrade, current, heads."""
