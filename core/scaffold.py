"""`gonghui plugin new` (stub: being written)."""
import click


@click.group()
def plugin():
    """Tools for plugin developers."""
