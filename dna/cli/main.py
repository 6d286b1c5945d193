"""`dna` command line: parses options, calls dna.api, turns user errors into one line + exit 2."""
from __future__ import annotations

import json

import click

from dna import __version__, api
from dna.cli.das import das
from dna.cli.errors import user_errors
from dna.cli.search import search, train
from dna.cost.report import format_report, report_to_dict
from dna.cost.target import load_target, target_names
from dna.design import make_design, save_design
from dna.space.gads.index import index_space, space_size_table
from dna.workload.zoo import NETWORKS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dna")
def main() -> None:
    """DNA: differentiable network-accelerator co-search.

    Evaluate a network on an accelerator with the analytical cost model, search
    accelerators (das) and networks + accelerators together (search), and write design
    files that dna-hwgen turns into hardware.
    """


@main.command()
@click.option("--network", "network_spec", metavar="NAME|FILE",
              help=f"Built-in network ({', '.join(NETWORKS)}), a network YAML file, an "
                   f"ONNX model (.onnx) or a design file (.json: its network).")
@click.option("--dataset", type=click.Choice(["imagenet", "cifar"]), default="imagenet",
              show_default=True, help="Input size of a built-in network.")
@click.option("--accelerator", "accel_path", metavar="FILE",
              help="Hand-written accelerator YAML (see examples/accelerators/).")
@click.option("--target", "target_spec", metavar="NAME|FILE",
              help=f"Target: {', '.join(target_names())}, or a target YAML file.")
@click.option("--precision", type=int, default=16, show_default=True,
              help="Weight/activation bits: 8 or 16.")
@click.option("--design", "design_path", metavar="FILE",
              help="Evaluate a design file instead (network, accelerator, target inside).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--save", "save_path", metavar="FILE",
              help="Also write the evaluated design as a design file (dna-design/1).")
@user_errors
def evaluate(network_spec, dataset, accel_path, target_spec, precision, design_path, as_json,
             save_path):
    """Per-layer cycles, bound, utilisation, DSP/BRAM, energy, and network totals.

    Either --design FILE, or all of --network, --accelerator and --target.
    """
    if design_path:
        if network_spec or accel_path or target_spec:
            raise api.InputError("--design already names the network, accelerator and "
                                 "target; drop --network/--accelerator/--target")
        design, rep = api.evaluate_design(design_path)
    else:
        missing = [o for o, v in (("--network", network_spec), ("--accelerator", accel_path),
                                  ("--target", target_spec)) if not v]
        if missing:
            raise api.InputError(f"missing {', '.join(missing)} (or give --design FILE)")
        target = load_target(target_spec)
        net = api.load_network(network_spec, dataset=dataset)
        acc = api.load_accelerator(accel_path, net, target, precision)
        rep = api.evaluate(network=net, accelerator=acc, target=target, precision=precision)
        design = make_design(net, acc, target, precision, provenance={
            "command": "dna evaluate", "network": network_spec, "dataset": dataset,
            "accelerator": accel_path})
    click.echo(json.dumps(report_to_dict(rep), indent=1) if as_json else format_report(rep))
    if save_path:
        save_design(design, save_path)
        click.echo(f"wrote {save_path}", err=True)


@main.command()
@click.option("--network", "network_spec", required=True, metavar="NAME|FILE",
              help=f"Built-in network ({', '.join(NETWORKS)}), a network YAML file, an "
                   f"ONNX model (.onnx) or a design file (.json: its network).")
@click.option("--dataset", type=click.Choice(["imagenet", "cifar"]), default="imagenet",
              show_default=True)
@click.option("--target", "target_spec", default="zc706", show_default=True,
              metavar="NAME|FILE", help="Target whose PE budget bounds the PE unroll.")
@user_errors
def space(network_spec, dataset, target_spec):
    """Size of the accelerator search space (GADS) for a network, as in paper Table 2."""
    net = api.load_network(network_spec, dataset=dataset)
    target = load_target(target_spec)
    s = index_space(net, max_pes=target.max_pes)
    click.echo(f"{net.name}: {len(net.convs)} conv layers, {len(s.params)} categorical "
               f"parameters, PE budget {target.max_pes} ({target.name})")
    click.echo(space_size_table(s))


main.add_command(das)
main.add_command(search)
main.add_command(train)

if __name__ == "__main__":
    main()
