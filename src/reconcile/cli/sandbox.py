"""``reconcile sandbox`` (the local emulators) and ``reconcile auth`` (a person's consent for a real system)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from reconcile.cli.options import ConnOpt, StateOpt, state_dir

sandbox_app = typer.Typer(help="The local sandbox: emulated systems with bundled data.", no_args_is_help=True)
auth_app = typer.Typer(help="Authorise reconcile with a system that needs a person's consent.", no_args_is_help=True)


@sandbox_app.command("reset")
def sandbox_reset(state: StateOpt = None) -> None:
    """Start the sandbox over: forget its copies of the systems and the state that goes with them."""
    from reconcile.app.sandbox import reset_sandbox  # when it runs (reconcile.cli.main says why)

    folder = state_dir(state)
    reset_sandbox(folder)
    typer.echo(f"sandbox reset: {folder}")


@sandbox_app.command("serve")
def sandbox_serve(
    state: StateOpt = None,
    flows_dir: Annotated[Path, typer.Option("--flows", help="Folder of flow files.")] = Path("flows"),
) -> None:
    """Serve the emulators of every system on localhost until Ctrl-C.

    Exact Online, PowerOffice Go, and each REST system described in the flows folder's systems/ (the generic
    emulator serving its system file). Prints their addresses and writes a connections file that points at
    them, so the real connectors can be tried by hand (`reconcile plan --connections FILE ...`). They hold the
    sandbox's current state.
    """
    from reconcile.app.sandbox import serve_sandbox

    served = serve_sandbox(state_dir(state), flows_dir)
    try:
        typer.echo(served.connections)
        typer.echo(f"connections file: {served.connections_file}\nthe keys it names (the sandbox's own, public):")
        for name, value in served.env.items():
            typer.echo(f"  export {name}={value}")
        typer.echo("\nserving; Ctrl-C stops the emulators and saves their state")

        def interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)  # a service manager's stop saves the state too
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    finally:
        served.close()


@auth_app.command("exact")
def auth_exact(
    connections: ConnOpt = None,
    refresh_token: Annotated[
        str | None, typer.Option("--refresh-token", help="Store this refresh token instead of asking for a code.")
    ] = None,
    code: Annotated[str | None, typer.Option("--code", help="The code from the redirect, if you have it.")] = None,
) -> None:
    """Authorise reconcile with Exact Online: open the printed URL, then paste the code it redirects with.

    The tokens go to the connection's token_file; the refresh token rotates on every use and is written
    back atomically, so keep that file where only the nightly job can read it.
    """
    from reconcile.app.consent import ExactConsent

    consent = ExactConsent(connections)
    if refresh_token:
        consent.keep(refresh_token)
        typer.echo(f"refresh token stored in {consent.token_file}")
        return
    if code is None:
        typer.echo("Open this address, log in and allow access:\n")
        typer.echo(consent.address())
        code = typer.prompt("\nThen paste the code from the address Exact redirects you to")
    consent.exchange(code)
    typer.echo(f"authorised; tokens stored in {consent.token_file}")
