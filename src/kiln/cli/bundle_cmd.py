"""`kiln export`, `kiln bundle verify`, `kiln bundle info`: the production bundle verbs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

bundle_app = typer.Typer(help="Check and describe production bundles.", no_args_is_help=True)
app.add_typer(bundle_app, name="bundle")


@app.command("export")
def export_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix, or `latest`).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Bundle folder to write.")],
    variant: Annotated[str, typer.Option(help="fp32, or a variant made by `kiln compress` "
                                              "(int8, int8-dynamic, pruned, distilled).")
                       ] = "fp32",
    zip_: Annotated[bool, typer.Option("--zip", help="Write one .zip file instead.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing bundle.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Write the production bundle of a run: ONNX model, preprocessing, signature, profile,
    metrics, blueprint and a manifest of SHA-256 hashes."""
    from kiln.bundle import load
    from kiln.export import export

    path = export(run_id, variant=variant, output=output, zip=zip_, overwrite=force)
    info = load(path).info()
    if json_out:
        print_json(info)
        return
    console.print(f"[green]bundle written[/] {path} · variant {variant} · "
                  f"{len(info['sizes'])} files, {_size(info['total_bytes'])}")


@bundle_app.command("verify")
def verify_cmd(
    path: Annotated[Path, typer.Argument(help="Bundle folder or .zip.")],
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Check every file of a bundle against its manifest, and the ONNX graph against
    signature.json (exit 2 naming the bad file or the mismatch)."""
    from kiln.bundle import load

    manifest = load(path).manifest  # verifies the manifest, then the graph's signature
    files = manifest["files"]
    if json_out:
        print_json({"path": str(path), "ok": True, "files": files})
        return
    for name, entry in files.items():
        console.print(f"[green]ok[/] {name:<20} {entry['sha256'][:12]}…  {_size(entry['bytes'])}")
    console.print(f"[green]verified[/] {path}: {len(files)} files match the manifest; the "
                  f"model's inputs and outputs match signature.json")


@bundle_app.command("info")
def info_cmd(
    path: Annotated[Path, typer.Argument(help="Bundle folder or .zip.")],
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Signature, metrics, sizes and provenance of a bundle (verified first)."""
    from kiln.bundle import load

    info = load(path).info()
    if json_out:
        print_json(info)
    else:
        render_info(info)


def render_info(info: dict[str, Any]) -> None:
    from rich.table import Table

    prov = info["provenance"]
    console.print(f"[bold]bundle[/] {info['path']} · variant {prov.get('variant')} · run "
                  f"{prov.get('source_run')} · kiln {prov.get('kiln_version')} · "
                  f"{prov.get('created_at')}")
    fields = Table(title="inputs", title_justify="left")
    for column in ("field", "type", "model input", "range / categories"):
        fields.add_column(column)
    for f in info["fields"]:
        fields.add_row(f["name"], f["type"], f["input"], _domain(f))
    console.print(fields)
    for out in info["outputs"]:
        labels = ", ".join(out["labels"][:12]) if out.get("labels") else ""
        more = " …" if out.get("labels") and len(out["labels"]) > 12 else ""
        console.print(f"output [bold]{out['name']}[/] ({out['type']}, size {out['size']})"
                      f"{': ' + labels + more if labels else ''}")
    for split in ("val", "test"):
        scores = info["metrics"].get(split)
        if isinstance(scores, dict) and scores:
            shown = " · ".join(f"{k} {v:.4g}" for k, v in scores.items()
                               if isinstance(v, (int, float)))
            console.print(f"{split}: {shown}")
    sizes = " · ".join(f"{name} {_size(n)}" for name, n in info["sizes"].items())
    console.print(f"files: {sizes} · total {_size(info['total_bytes'])}")


def _domain(field: dict[str, Any]) -> str:
    if field.get("categories") is not None:
        cats = field["categories"]
        return ", ".join(cats[:8]) + (f" … ({len(cats)})" if len(cats) > 8 else "")
    if field.get("min") is not None:
        return f"{field['min']:.4g} … {field['max']:.4g}"
    if field.get("max_length"):
        return f"up to {field['max_length']} tokens"
    if field.get("shape"):
        return f"shape {field['shape']}"
    return ""


def _size(n: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
