"""Importing this module registers every command on `kiln.cli.app.app`, in pipeline order
(which is the order `kiln --help` lists them)."""
# ruff: noqa: I001, F401

from kiln.cli import init_cmd, design_cmd
from kiln.cli import train_cmd, evaluate_cmd
from kiln.cli import tune_cmd
from kiln.cli import compress_cmd, bundle_cmd, registry_cmd
from kiln.cli import serve_cmd, monitor_cmd
from kiln.cli import retrain_cmd, rollback_cmd, promote_cmd
from kiln.cli import demo_cmd
